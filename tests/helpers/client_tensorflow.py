"""`Dataset.to_tf_dataset` on both configs of the copy, and Keras on the TensorFlow backend training on it; prints JSON.

Run with the python of the "tensorflow" compat environment (`tests/helpers/compat_envs.py`): it
imports nothing of the project. HF_ENDPOINT names the Hub.

    python client_tensorflow.py SPEC_JSON

SPEC_JSON: {"repo", "configs": [the default config's name, "pixels"], "batch_size"}. For each config
and split the report says whether the `tf.data` batches, put end to end, equal the copy's own
arrays (`with_format("numpy")`), with their dtypes, shapes and the SHA-256 of the images and labels;
then a Keras model (TensorFlow backend) trains one epoch on the default config's train split and
is evaluated on its test split.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

os.environ["KERAS_BACKEND"] = "tensorflow"  # before keras is imported

import datasets
import keras
import numpy as np
import tensorflow as tf


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def tf_dataset(split: datasets.Dataset, batch_size: int, shuffle: bool) -> tf.data.Dataset:
    column = "image" if "image" in split.features else "pixels"
    return split.to_tf_dataset(columns=column, label_cols="label", batch_size=batch_size, shuffle=shuffle)


def compare(split: datasets.Dataset, batch_size: int) -> dict:
    """The tf.data batches end to end against the copy's arrays, in the split's order."""
    batches = list(tf_dataset(split, batch_size, shuffle=False).as_numpy_iterator())
    images = np.concatenate([x for x, _ in batches])
    labels = np.concatenate([y for _, y in batches])
    column = "image" if "image" in split.features else "pixels"
    rows = split.with_format("numpy")[:]
    return {
        "batches": len(batches),
        "first_batch": [list(batches[0][0].shape), list(batches[0][1].shape)],
        "dtypes": [str(images.dtype), str(labels.dtype)],
        "equal": bool(np.array_equal(images, rows[column]) and np.array_equal(labels, rows["label"])),
        "images_sha256": sha256(images.astype(np.uint8).reshape(-1, 28, 28)),
        "labels_sha256": sha256(labels.astype(np.uint8)),
    }


def keras_epoch(loaded: datasets.DatasetDict, batch_size: int) -> dict:
    layers = [keras.Input((28, 28)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(), keras.layers.Dense(10)]
    model = keras.Sequential(layers)  # a linear classifier: enough to learn the copy in one epoch
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    keras.utils.set_random_seed(0)
    history = model.fit(tf_dataset(loaded["train"], batch_size, shuffle=True), epochs=1, verbose=0)
    _, accuracy = model.evaluate(tf_dataset(loaded["test"], batch_size, shuffle=False), verbose=0)
    return {"epochs": len(history.history["loss"]), "loss": history.history["loss"][-1], "accuracy": accuracy}


def main() -> int:
    spec = json.loads(sys.argv[1])
    datasets.disable_progress_bars()
    report = {"versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "datasets": datasets.__version__}}
    report["backend"] = keras.backend.backend()
    report["configs"] = {}
    for config in spec["configs"]:
        loaded = datasets.load_dataset(spec["repo"], config)
        report["configs"][config] = {name: compare(split, spec["batch_size"]) for name, split in loaded.items()}
        if config == spec["configs"][0]:
            report["keras"] = keras_epoch(loaded, spec["batch_size"])
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
