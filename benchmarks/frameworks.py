"""Keras and JAX: the card's recipes beside what each framework's users load today, for `python -m benchmarks`.

The benchmark's `frameworks` section (`measure` and `table`). Each `bench_<name>(setup)`
takes the benchmark's `Setup` and returns figures in seconds, medians of `setup.repeat`
runs with the compared steps taking turns, timed by `benchmarks.framework_runs` in a child
process. This is the one place Keras' own `load_data()` is timed. A framework that is not
installed, skipped (`--skip-keras`), or a run with no local archives raises `Unavailable` with
the reason.

Ray is not timed here: starting a local Ray cluster alone takes longer than the rest
of this module, and `recipes/ray_train.py` is run by the tests.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import pathlib
import sys
import tempfile
from collections.abc import Mapping

import fashion_mnist
from benchmarks import report
from benchmarks.harness import ChildFailed, Setup, run_json

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[1]
CHILD_TIMEOUT = 600  # seconds
SKIP_KERAS = "frameworks_keras"  # `--skip-keras` puts this in `setup.unavailable`, with its reason


class Unavailable(Exception):
    """A framework that cannot run here (no local archives, not installed, skipped); the reason is reported."""


def run_child(name: str, setup: Setup, environment: Mapping[str, str]) -> dict[str, float]:
    """`python -m benchmarks.framework_runs NAME` in a fresh interpreter; the figures it prints as its last line."""
    args = {"repo": str(setup.repo), "archive_dir": str(setup.archive_dir), "repeat": setup.repeat}
    # The recipes load with the default cache: the warm one, where both configs are prepared already.
    env = {**os.environ, "HF_DATASETS_CACHE": str(setup.warm_cache), "PYTHONPATH": str(PROJECT_ROOT), **environment}
    try:
        return run_json([sys.executable, "-m", "benchmarks.framework_runs", name, json.dumps(args)], env, CHILD_TIMEOUT)
    except ChildFailed as failure:
        raise Unavailable(f"the child process failed: {str(failure).strip().splitlines()[-1]}") from failure


def keras_environment(archive_dir: pathlib.Path, work: pathlib.Path) -> dict[str, str]:
    """`KERAS_HOME` holding links to the local archives where Keras looks for its download, on the torch backend.

    Keras uses a file found in `$KERAS_HOME/datasets/fashion-mnist/` without checking a hash and
    downloads nothing; torch is the backend because this project's CPU wheel is already there.
    """
    home = pathlib.Path(tempfile.mkdtemp(prefix="keras-home-", dir=work))
    downloads = home / "datasets" / "fashion-mnist"
    downloads.mkdir(parents=True)
    for archive in fashion_mnist.ARCHIVES:
        (downloads / archive.filename).symlink_to((archive_dir / archive.filename).resolve())
    return {"KERAS_HOME": str(home), "KERAS_BACKEND": "torch"}


def bench_keras(setup: Setup) -> dict[str, float]:
    """`keras.datasets.fashion_mnist.load_data()` (both splits, local archives) beside the card's `load_data()`."""
    if SKIP_KERAS in setup.unavailable:
        raise Unavailable(setup.unavailable[SKIP_KERAS])
    if setup.archive_dir is None:
        raise Unavailable("no local copy of the archives (pass --data-dir)")
    if importlib.util.find_spec("keras") is None:
        raise Unavailable("Keras is not installed (`pip install keras`; it runs on the torch backend)")
    figures = run_child("keras", setup, keras_environment(setup.archive_dir, setup.work))
    return figures | {"keras_card_ratio": figures["keras_card_seconds"] / figures["keras_own_seconds"]}


def bench_jax(setup: Setup) -> dict[str, float]:
    """The train split on the JAX device: from the archives, with the card's recipe, and with `with_format("jax")`."""
    if setup.archive_dir is None:
        raise Unavailable("no local copy of the archives (pass --data-dir)")
    if importlib.util.find_spec("jax") is None:
        raise Unavailable('JAX is not installed (`pip install "jax[cpu]"`)')
    figures = run_child("jax", setup, {"JAX_PLATFORMS": "cpu"})
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
