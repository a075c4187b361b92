"""Keras and JAX: the card's recipes beside what each framework's users load today, for `python -m benchmarks`.

The benchmark's `frameworks` section (`measure` and `table`). Each `bench_<name>(setup)`
takes the benchmark's `Setup` and returns figures in seconds, medians of
`setup.repeat` runs with the compared steps taking turns. Each runs in a child
process: Keras reads KERAS_HOME and its backend when imported, and JAX is not in every
environment that runs the benchmark. A framework that is not installed, or a run with
no local archives, raises `peers.Unavailable` with the reason.

Ray is not timed here: starting a local Ray cluster alone takes longer than the rest
of this module, and `recipes/ray_train.py` is run by the tests.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Mapping

import fashion_mnist
from benchmarks import report
from benchmarks.harness import Setup
from benchmarks.peers import Unavailable, keras_environment

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[1]
CHILD_TIMEOUT = 600  # seconds


# A child program's common part: the arguments, interleaved medians, the card's array recipe and Keras' floor.
COMMON = """\
import json, statistics, sys, time
import numpy as np
import datasets
args = json.loads(sys.argv[1])
import fashion_mnist
from benchmarks.peers import keras_style_split
from recipes import keras_load_data
datasets.disable_progress_bars()

def medians(runs):
    samples = {name: [] for name in runs}
    for _ in range(args["repeat"]):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}

def card_load_data():  # recipes/keras_load_data.py, the card's Keras drop-in
    return keras_load_data.load_data(args["repo"])

def card_train_split():
    return datasets.load_dataset(args["repo"], "pixels", split="train")

archive_dir = __import__("pathlib").Path(args["archive_dir"])
card_load_data()  # the cache is warm before the first timed run
"""

KERAS = """\
from keras.datasets import fashion_mnist as keras_fashion_mnist
print(json.dumps(medians({"keras_own_seconds": keras_fashion_mnist.load_data, "keras_card_seconds": card_load_data})))
"""

JAX = """\
import jax
from recipes import jax_train

def floor():  # what a JAX user without `datasets` writes: gunzip the archives, put the arrays on the device
    images, labels = keras_style_split(archive_dir, fashion_mnist.ARCHIVES, "train")
    jax.block_until_ready((jax.device_put(images), jax.device_put(labels)))

def card():  # recipes/jax_train.py: uint8 arrays, then the device
    jax.block_until_ready(jax_train.to_device(card_train_split()))

def jax_format():  # the formatter, without a dtype: int32 on the device
    jax.block_until_ready(card_train_split().with_format("jax")[:]["pixels"])

print(json.dumps(medians({"jax_floor_seconds": floor, "jax_card_seconds": card, "jax_format_seconds": jax_format})))
"""


def run_child(program: str, setup: Setup, environment: Mapping[str, str] | None = None) -> dict[str, float]:
    """Run COMMON + `program` in a fresh interpreter and return the figures it prints as its last line."""
    if setup.archive_dir is None:
        raise Unavailable("no local copy of the archives (pass --data-dir)")
    args = {
        "repo": str(setup.repo),
        "archive_dir": str(setup.archive_dir),
        "repeat": setup.repeat,
    }
    done = subprocess.run(
        [sys.executable, "-c", COMMON + program, json.dumps(args)],
        # The recipes load with the default cache: the warm one, where both configs are prepared already.
        env={
            **os.environ,
            "HF_DATASETS_CACHE": str(setup.warm_cache),
            "PYTHONPATH": str(PROJECT_ROOT),
            **(environment or {}),
        },
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
    )
    if done.returncode != 0:
        last_line = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise Unavailable(f"the child process failed: {last_line}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_keras(setup: Setup) -> dict[str, float]:
    """`keras.datasets.fashion_mnist.load_data()` (both splits, local archives) beside the card's `load_data()`."""
    if setup.archive_dir is None:
        raise Unavailable("no local copy of the archives (pass --data-dir)")
    figures = run_child(KERAS, setup, keras_environment(setup.archive_dir, fashion_mnist.ARCHIVES, setup.work))
    return figures | {"keras_card_ratio": figures["keras_card_seconds"] / figures["keras_own_seconds"]}


def bench_jax(setup: Setup) -> dict[str, float]:
    """The train split on the JAX device: from the archives, with the card's recipe, and with `with_format("jax")`."""
    if importlib.util.find_spec("jax") is None:
        raise Unavailable('JAX is not installed (`pip install "jax[cpu]"`)')
    figures = run_child(JAX, setup, {"JAX_PLATFORMS": "cpu"})
    return figures | {"jax_card_ratio": figures["jax_card_seconds"] / figures["jax_floor_seconds"]}


@dataclasses.dataclass(frozen=True)
class FrameworkFigures:
    """Medians in seconds; a framework that could not run leaves its figures None."""

    keras_own_seconds: float | None = None  # `keras.datasets.fashion_mnist.load_data()`
    keras_card_seconds: float | None = None  # the card's `load_data()`
    keras_card_ratio: float | None = None
    jax_floor_seconds: float | None = None  # gunzip + `np.frombuffer` + `jax.device_put`
    jax_card_seconds: float | None = None
    jax_format_seconds: float | None = None  # `with_format("jax")`
    jax_card_ratio: float | None = None


BENCHES = {"keras": bench_keras, "jax": bench_jax}


def measure(setup: Setup) -> FrameworkFigures | None:
    """Every framework's figures; one that cannot run is named in `setup.unavailable` with its reason."""
    figures: dict[str, float] = {}
    for name, bench in BENCHES.items():
        try:
            figures |= bench(setup)
        except Unavailable as reason:
            setup.unavailable[f"frameworks_{name}"] = str(reason)
    return FrameworkFigures(**figures) if figures else None


# (what, the framework's way, its seconds, this copy's way, its seconds, the ratio or None for this copy / the way's)
ROWS = (
    ("Keras: both splits as `load_data()` returns them", "`keras.datasets.fashion_mnist.load_data()`",
     "keras_own_seconds", "the card's `load_data()` (`pixels`, cached)", "keras_card_seconds", "keras_card_ratio"),
    ("JAX: the train split on the device", "gunzip + `np.frombuffer` + `jax.device_put`", "jax_floor_seconds",
     "the card's recipe (uint8)", "jax_card_seconds", "jax_card_ratio"),
    ("", "the same", "jax_floor_seconds", 'the same with `with_format("jax")` (int32)', "jax_format_seconds", None),
)  # fmt: skip


def table(f: FrameworkFigures) -> str:
    """The frameworks' table; rows with no figure are left out."""
    rows = []
    for what, own_name, own_field, ours_name, ours_field, ratio_field in ROWS:
        own, ours = getattr(f, own_field), getattr(f, ours_field)
        if own is not None and ours is not None:
            ratio = getattr(f, ratio_field) if ratio_field else ours / own
            rows.append(report.row(what, f"{own_name}: {report.seconds(own)}", f"{ours_name}: {report.seconds(ours)}",
                                   report.ratio(ratio)))  # fmt: skip
    return report.table(("what", "the framework's way", "this copy", "ratio"), "lllr", rows)
