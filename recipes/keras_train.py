import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # or "jax", "tensorflow": set it before importing keras
import keras
import numpy as np
from datasets import load_dataset

train = load_dataset("org/fashion_mnist", "pixels", split="train").with_format("numpy", dtype=np.uint8)[:]
x_train, y_train = train["pixels"].reshape(-1, 28, 28), train["label"]
model = keras.Sequential(
    [
        keras.Input((28, 28)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10),
    ]
)
model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=256, epochs=1)
