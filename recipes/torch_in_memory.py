import torch
from datasets import load_dataset


def to_tensors(split):  # a split of the pixels config -> uint8 images (n, 1, 28, 28) and int64 labels (n,)
    rows = split.with_format("torch", dtype=torch.uint8)[:]
    return rows["pixels"].view(-1, 1, 28, 28), rows["label"].long()


def shuffled_batches(images, labels, batch_size=256):  # one epoch of float images in [0, 1] and labels
    for batch in torch.randperm(len(labels)).split(batch_size):
        yield images[batch].float() / 255, labels[batch]


if __name__ == "__main__":
    images, labels = to_tensors(load_dataset("org/fashion_mnist", "pixels", split="train"))
    for epoch in range(2):
        for x, y in shuffled_batches(images, labels):
            pass  # x: (256, 1, 28, 28) float32 in [0, 1], y: (256,) int64
