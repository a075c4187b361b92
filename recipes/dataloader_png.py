import io

import numpy as np
import torch
from datasets import Image, load_dataset
from PIL import Image as PILImage


def to_tensors(batch):  # runs in the DataLoader workers: a whole batch of PNG bytes at once
    pixels = np.stack([np.asarray(PILImage.open(io.BytesIO(image["bytes"]))) for image in batch["image"]])
    pixel_values = torch.from_numpy(pixels).unsqueeze(1).float() / 255
    return {"pixel_values": pixel_values, "labels": torch.tensor(batch["label"])}


def loader(split, num_workers=2):  # a split of the default config -> shuffled batches of 256
    split = split.cast_column("image", Image(decode=False)).with_transform(to_tensors)
    return torch.utils.data.DataLoader(split, batch_size=256, shuffle=True, num_workers=num_workers)


if __name__ == "__main__":
    for batch in loader(load_dataset("org/fashion_mnist", split="train")):
        x, y = batch["pixel_values"], batch["labels"]  # (256, 1, 28, 28) float32 in [0, 1], (256,) int64
