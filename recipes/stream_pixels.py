import numpy as np
import torch
from datasets import load_dataset


def to_tensors(table):  # a pyarrow.Table whose one row holds a batch of 256 examples
    pixels = table["pixels"][0].values.flatten().to_numpy().reshape(-1, 1, 28, 28)
    labels = table["label"][0].values.to_numpy()
    return torch.from_numpy(pixels.astype(np.float32) / 255), torch.from_numpy(labels.astype(np.int64))


def loader(stream, num_workers=2):  # a stream of the pixels config -> shuffled (x, y) batches of 256
    stream = stream.shuffle(seed=0, buffer_size=10_000, max_buffer_input_shards=1)
    stream = stream.with_format("arrow").batch(256)
    return torch.utils.data.DataLoader(stream, batch_size=None, num_workers=num_workers, collate_fn=to_tensors)


if __name__ == "__main__":
    stream = load_dataset("org/fashion_mnist", "pixels", split="train", streaming=True)
    for x, y in loader(stream):
        pass  # x: (256, 1, 28, 28) float32 in [0, 1], y: (256,) int64
