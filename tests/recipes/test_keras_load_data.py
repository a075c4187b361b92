"""recipes/keras_load_data.py gives exactly what `keras.datasets.fashion_mnist.load_data()` gives.

The recipe's `load_data` runs against the local Hub serving the real build. Keras runs in a child process
(it reads KERAS_HOME and its backend when imported) on the same four original archives,
which it finds in `$KERAS_HOME/datasets/fashion-mnist/` and so downloads nothing.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import numpy as np

import fashion_mnist
from recipes import keras_load_data as recipe
from tests.conftest import HUB_REPO

KERAS_PROGRAM = """\
import sys
import numpy as np
from keras.datasets import fashion_mnist
from recipes import keras_load_data as recipe
from tests.conftest import HUB_REPO
(x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
np.savez(sys.argv[1], x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
"""
NAMES = ("x_train", "y_train", "x_test", "y_test")


def keras_load_data(archive_dir: pathlib.Path, work: pathlib.Path) -> dict[str, np.ndarray]:
    """What Keras' own loader returns, reading `archive_dir`'s archives through KERAS_HOME."""
    from benchmarks.frameworks import keras_environment  # imports torch: only when this test runs

    environment = {**os.environ, **keras_environment(archive_dir, work)}
    output = work / "keras.npz"
    done = subprocess.run(
        [sys.executable, "-c", KERAS_PROGRAM, str(output)], env=environment, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(output) as arrays:
        return {name: arrays[name] for name in NAMES}


def test_card_recipe_equals_keras_load_data(
    hub_endpoint: str, real_archives: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    (x_train, y_train), (x_test, y_test) = recipe.load_data(HUB_REPO)
    ours_by_name = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}

    expected = keras_load_data(real_archives, tmp_path)

    for name in NAMES:
        ours, theirs = ours_by_name[name], expected[name]
        assert isinstance(ours, np.ndarray), f"{name}: {type(ours)}"
        assert (ours.dtype, ours.shape) == (theirs.dtype, theirs.shape) == (np.uint8, theirs.shape), name
        assert np.array_equal(ours, theirs), f"{name} differs from keras.datasets.fashion_mnist.load_data()"
    assert expected["x_train"].shape == (60_000, *fashion_mnist.IMAGE_SHAPE)
    assert expected["y_test"].shape == (10_000,)
