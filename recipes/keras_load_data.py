import numpy as np
from datasets import load_dataset


def load_data(repo="org/fashion_mnist"):  # ((x_train, y_train), (x_test, y_test)), as Keras' load_data()
    splits = load_dataset(repo, "pixels").with_format("numpy", dtype=np.uint8)
    train, test = splits["train"][:], splits["test"][:]
    return (train["pixels"].reshape(-1, 28, 28), train["label"]), (test["pixels"].reshape(-1, 28, 28), test["label"])


if __name__ == "__main__":
    (x_train, y_train), (x_test, y_test) = load_data()  # (60000, 28, 28), (60000,), (10000, 28, 28), (10000,)
