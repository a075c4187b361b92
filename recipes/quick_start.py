from datasets import load_dataset

dataset = load_dataset("org/fashion_mnist")  # DatasetDict: train, test; images as PIL
pixels = load_dataset("org/fashion_mnist", "pixels", split="test")  # the same test split, raw pixels
names = pixels.features["label"].names  # ['T-shirt/top', 'Trouser', ...]
