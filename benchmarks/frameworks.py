"""Keras and JAX: the card's recipes beside what each framework's users load today (the one place Keras' own
`load_data()` is timed). Each framework's runs take turns in a fresh interpreter, `python -m benchmarks.frameworks
keras|jax ARGS_JSON` (`__main__` below; it prints the medians as one JSON line): Keras reads `KERAS_HOME` and its
backend when imported, and JAX is not in every environment. Ray is not timed: a local cluster alone starts slower."""

import dataclasses
import functools
import importlib.util
import json
import os
import pathlib
import sys
import tempfile
from collections.abc import Callable, Mapping
from typing import Any

import datasets

import fashion_mnist
from benchmarks import harness, loops, report
from recipes import keras_load_data

FRAMEWORKS = {  # name -> what to do where it is missing, and the figure its card's seconds are set against
    "keras": ("Keras is not installed (`pip install keras`; it runs on the torch backend)", "keras_own_seconds"),
    "jax": ('JAX is not installed (`pip install "jax[cpu]"`)', "jax_floor_seconds"),
}


@dataclasses.dataclass(frozen=True)
class FrameworkFigures:  # medians in seconds; None for a framework that could not run
    keras_own_seconds: float | None = None  # `keras.datasets.fashion_mnist.load_data()`
    keras_card_seconds: float | None = None  # the card's `load_data()`
    keras_card_ratio: float | None = None
    jax_floor_seconds: float | None = None  # gunzip + `np.frombuffer` + `jax.device_put`
    jax_card_seconds: float | None = None
    jax_format_seconds: float | None = None  # `with_format("jax")`
    jax_card_ratio: float | None = None


def measure(setup: harness.Setup) -> FrameworkFigures | None:
    """Every framework's figures; one that cannot run is named in `setup.unavailable` with its reason."""
    figures: dict[str, float] = {}
    for name in FRAMEWORKS:
        try:
            figures |= bench(name, setup)
        except harness.Unavailable as reason:
            setup.unavailable[f"frameworks_{name}"] = str(reason)
    return FrameworkFigures(**figures) if figures else None


def bench(name: str, setup: harness.Setup) -> dict[str, float]:
    """This module's `__main__` for `name` (the recipes load with the default cache, set to the warm one): its
    medians, and the card's seconds over the framework's own way's."""
    not_installed, reference = FRAMEWORKS[name]
    if setup.archive_dir is None:
        raise harness.Unavailable("no local copy of the archives (pass --data-dir)")
    if importlib.util.find_spec(name) is None:
        raise harness.Unavailable(not_installed)
    own = keras_environment(setup.archive_dir, setup.work) if name == "keras" else {"JAX_PLATFORMS": "cpu"}
    env = {**os.environ, "HF_DATASETS_CACHE": str(setup.warm_cache), **own}
    args = {"repo": str(setup.repo), "archive_dir": str(setup.archive_dir), "repeat": setup.repeat}
    command = [sys.executable, "-m", "benchmarks.frameworks", name, json.dumps(args)]
    try:
        figures = harness.run_json(command, env)
    except harness.ChildFailed as failure:
        raise harness.Unavailable(f"the child process failed: {str(failure).strip().splitlines()[-1]}") from failure
    return figures | {f"{name}_card_ratio": figures[f"{name}_card_seconds"] / figures[reference]}


def keras_environment(archive_dir: pathlib.Path, work: pathlib.Path) -> dict[str, str]:
    """`KERAS_HOME` linking the local archives where Keras looks (no hash checked); torch, already here, as backend."""
    home = pathlib.Path(tempfile.mkdtemp(prefix="keras-home-", dir=work))
    downloads = home / "datasets" / "fashion-mnist"
    downloads.mkdir(parents=True)
    for archive in fashion_mnist.ARCHIVES:
        (downloads / archive.filename).symlink_to((archive_dir / archive.filename).resolve())
    return {"KERAS_HOME": str(home), "KERAS_BACKEND": "torch"}


def table(f: FrameworkFigures) -> str:
    rows = [  # what, the framework's way and its seconds, this copy's and its seconds, the ratio (None: this / the way)
        ("Keras: both splits as `load_data()` returns them", "`keras.datasets.fashion_mnist.load_data()`",
         f.keras_own_seconds, "the card's `load_data()` (`pixels`, cached)", f.keras_card_seconds, f.keras_card_ratio),
        ("JAX: the train split on the device", "gunzip + `np.frombuffer` + `jax.device_put`", f.jax_floor_seconds,
         "the card's recipe (uint8)", f.jax_card_seconds, f.jax_card_ratio),
        ("", "the same", f.jax_floor_seconds, 'the same with `with_format("jax")` (int32)', f.jax_format_seconds, None),
    ]  # fmt: skip
    return report.table(("what", "the framework's way", "this copy", "ratio"), "lllr", [
        report.row(what, f"{own_way}: {report.seconds(own)}", f"{our_way}: {report.seconds(ours)}",
                   report.ratio(ours / own if ratio is None else ratio))
        for what, own_way, own, our_way, ours, ratio in rows
        if own is not None and ours is not None
    ])  # fmt: skip


def medians(runs: Mapping[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    timed = {name: functools.partial(harness.seconds, run) for name, run in runs.items()}
    return harness.interleaved_medians(timed, repeat)


def keras_runs(args: Mapping[str, Any]) -> dict[str, Callable[[], object]]:
    from keras.datasets import fashion_mnist as keras_fashion_mnist  # once `KERAS_HOME` and the backend are set

    card = functools.partial(keras_load_data.load_data, args["repo"])  # recipes/keras_load_data.py
    return {"keras_own_seconds": keras_fashion_mnist.load_data, "keras_card_seconds": card}


def jax_runs(args: Mapping[str, Any]) -> dict[str, Callable[[], object]]:
    import jax

    from recipes import jax_train

    train_split = functools.partial(datasets.load_dataset, args["repo"], fashion_mnist.PIXELS, split="train")
    gunzip_split = functools.partial(loops.keras_style_split, pathlib.Path(args["archive_dir"]), fashion_mnist.ARCHIVES)
    return {  # the floor: what a JAX user without `datasets` writes, the archives' arrays put on the device
        "jax_floor_seconds": lambda: jax.block_until_ready(tuple(map(jax.device_put, gunzip_split("train")))),
        "jax_card_seconds": lambda: jax.block_until_ready(jax_train.to_device(train_split())),  # uint8 arrays
        "jax_format_seconds": lambda: jax.block_until_ready(train_split().with_format("jax")[:]["pixels"]),  # int32
    }


RUNS = {"keras": keras_runs, "jax": jax_runs}

if __name__ == "__main__":
    name, args = sys.argv[1], json.loads(sys.argv[2])
    harness.quiet_datasets()
    keras_load_data.load_data(args["repo"])  # the cache is warm before the first timed run
    print(json.dumps(medians(RUNS[name](args), args["repeat"])))
