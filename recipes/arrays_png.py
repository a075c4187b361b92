import io

import numpy as np
from datasets import Image, load_dataset
from PIL import Image as PILImage


def to_arrays(split):  # a split of the default config -> uint8 images (n, 28, 28) and labels (n,)
    rows = split.cast_column("image", Image(decode=False))[:]
    images = np.stack([np.asarray(PILImage.open(io.BytesIO(image["bytes"]))) for image in rows["image"]])
    return images, np.asarray(rows["label"])


if __name__ == "__main__":
    images, labels = to_arrays(load_dataset("org/fashion_mnist", split="train"))  # (60000, 28, 28), (60000,)
