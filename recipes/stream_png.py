import io

import numpy as np
import torch
from datasets import Image, load_dataset
from PIL import Image as PILImage


def to_arrays(batch):  # runs in the DataLoader workers: a whole batch of PNG bytes at once
    pixels = np.stack([np.asarray(PILImage.open(io.BytesIO(image["bytes"]))) for image in batch["image"]])
    return {"pixel_values": pixels[:, None].astype(np.float32) / 255.0, "labels": np.asarray(batch["label"])}


def loader(stream, num_workers=2):  # a stream of the default config -> shuffled batches of 256
    stream = stream.cast_column("image", Image(decode=False))
    stream = stream.shuffle(seed=0, buffer_size=10_000, max_buffer_input_shards=1)
    stream = stream.batch(256).map(to_arrays, remove_columns=["image", "label"]).with_format("torch")
    return torch.utils.data.DataLoader(stream, batch_size=None, num_workers=num_workers)


if __name__ == "__main__":
    for batch in loader(load_dataset("org/fashion_mnist", split="train", streaming=True)):
        x, y = batch["pixel_values"], batch["labels"]  # (256, 1, 28, 28) float32 in [0, 1], (256,) int64
