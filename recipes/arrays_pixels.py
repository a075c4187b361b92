import numpy as np
from datasets import load_dataset


def to_arrays(split):  # a split of the pixels config -> uint8 images (n, 28, 28) and labels (n,)
    rows = split.with_format("numpy", dtype=np.uint8)[:]
    return rows["pixels"].reshape(-1, 28, 28), rows["label"]


if __name__ == "__main__":
    x_train, y_train = to_arrays(load_dataset("org/fashion_mnist", "pixels", split="train"))  # (60000, 28, 28)
