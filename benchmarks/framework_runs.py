"""The frameworks section's runs, in a fresh interpreter (`benchmarks.frameworks` starts it).

    python -m benchmarks.framework_runs keras|jax ARGS_JSON

ARGS_JSON: {"repo": the built copy, "archive_dir": the four archives, "repeat": rounds}. Prints the
median seconds of each run, the runs taking turns, as one JSON line. Keras reads `KERAS_HOME` and
its backend when it is imported, and JAX is not in every environment that runs the benchmark: hence
a process of their own. The recipes load with the default cache, which the parent points at the
warm one (`HF_DATASETS_CACHE`), and the first load is done before the clock starts.
"""

from __future__ import annotations

import functools
import json
import pathlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import datasets

import fashion_mnist
from benchmarks.harness import interleaved_medians, seconds
from benchmarks.loops import keras_style_split
from recipes import keras_load_data


def medians(runs: Mapping[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    return interleaved_medians({name: functools.partial(seconds, run) for name, run in runs.items()}, repeat)


def keras(args: Mapping[str, Any]) -> dict[str, float]:
    """`keras.datasets.fashion_mnist.load_data()` (both splits, the local archives) beside the card's drop-in."""
    from keras.datasets import fashion_mnist as keras_fashion_mnist

    runs = {
        "keras_own_seconds": keras_fashion_mnist.load_data,
        "keras_card_seconds": lambda: keras_load_data.load_data(args["repo"]),  # recipes/keras_load_data.py
    }
    return medians(runs, args["repeat"])


def jax(args: Mapping[str, Any]) -> dict[str, float]:
    """The train split on the JAX device: from the archives, with the card's recipe, with `with_format("jax")`."""
    import jax

    from recipes import jax_train

    def train_split() -> datasets.Dataset:
        return datasets.load_dataset(args["repo"], fashion_mnist.PIXELS, split="train")

    def floor() -> None:  # what a JAX user without `datasets` writes: gunzip the archives, put the arrays on the device
        images, labels = keras_style_split(pathlib.Path(args["archive_dir"]), fashion_mnist.ARCHIVES, "train")
        jax.block_until_ready((jax.device_put(images), jax.device_put(labels)))

    runs = {
        "jax_floor_seconds": floor,
        "jax_card_seconds": lambda: jax.block_until_ready(jax_train.to_device(train_split())),  # uint8 arrays
        "jax_format_seconds": lambda: jax.block_until_ready(train_split().with_format("jax")[:]["pixels"]),  # int32
    }
    return medians(runs, args["repeat"])


RUNS = {"keras": keras, "jax": jax}


def main(argv: Sequence[str]) -> int:
    name, args = argv[0], json.loads(argv[1])
    datasets.disable_progress_bars()
    keras_load_data.load_data(args["repo"])  # the cache is warm before the first timed run
    print(json.dumps(RUNS[name](args)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
