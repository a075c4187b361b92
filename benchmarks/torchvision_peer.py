"""The benchmark's torchvision section: the real torchvision's `FashionMNIST` epoch and download beside the recipes.

torchvision 0.29 needs torch 2.14, which the project's environment does not hold (it keeps the
CPU torch 2.13), so the timed program, `benchmarks/torchvision_epochs.py`, runs with the python
of an environment that holds both, given as `python -m benchmarks --torchvision-python PATH`
(`make compat` makes one: the "vision" environment of `tests/helpers/compat_envs.py`); without
it the section is left out. The archives and the built copy are served by the network section's
local Hub (`benchmarks.network.far_hub`), which torchvision uses as its mirror. Measured: the
epochs of the train split taking turns (torchvision's `DataLoader` with 2 workers, the card's
recipes, the plain `with_format("torch")` loops), each as a ratio to torchvision's; then, with
every request held 100 ms, torchvision's `download=True` beside a cold `load_dataset` of each
config, each in a fresh process, taking turns.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import statistics
import tempfile
from collections.abc import Mapping
from typing import Any

import fashion_mnist
from benchmarks import network, report
from benchmarks.harness import Setup, run_json
from scripts import layout

PROGRAM = pathlib.Path(__file__).with_name("torchvision_epochs.py")
CHECKOUT = pathlib.Path(__file__).resolve().parents[1]
PROGRAM_TIMEOUT = 1800  # seconds: every loop's epochs, on a shared machine
FAR = network.Condition(0.1)  # each request held 100 ms
# The program's loops, by name, as the report's rows say them; each is timed against "torchvision".
LOOPS = {
    "torchvision": "torchvision `FashionMNIST` + `ToTensor()`, 2 workers",
    "pixels_in_memory": "`pixels`, the card's in-memory recipe",
    "png_dataloader": "`fashion_mnist`, the card's PNG `DataLoader` recipe, 2 workers",
    "pixels_stream": "`pixels`, the card's stream of local files, 2 workers",
    "png_stream": "`fashion_mnist`, the card's stream of local files, 2 workers",
    "pixels_with_format": '`pixels`, plain `DataLoader(ds.with_format("torch"))`, 2 workers',
    "png_with_format": '`fashion_mnist`, plain `DataLoader(ds.with_format("torch"))`, 2 workers',
    "decode_pil": "decoding the train split's PNGs with PIL, image by image (no batches)",
    "decode_zlib": "decoding the same PNGs with zlib in one pass (no batches)",
}


def run_program(python: pathlib.Path, spec: dict[str, Any], work: pathlib.Path) -> dict[str, Any]:
    """The timed program with `python`, in a scratch directory, with nothing of the caller's HF settings."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "PYTHON"))}
    environment["HF_HOME"] = tempfile.mkdtemp(prefix="hf-home-", dir=work)
    environment["PYTHONPATH"] = str(CHECKOUT)  # the program imports the card's recipes from the checkout
    return run_json([str(python), str(PROGRAM), json.dumps(spec)], environment, PROGRAM_TIMEOUT, cwd=str(work))


def far_first_uses(hub: network.FarHub, python: pathlib.Path, repeat: int, work: pathlib.Path) -> dict[str, float]:
    """Median seconds at 100 ms a request: torchvision's download=True and a cold load_dataset of each config."""
    network.set_condition(hub, FAR)
    seconds: dict[str, list[float]] = {"download": []}
    seconds |= {f"load_dataset_{config}": [] for config in fashion_mnist.FEATURES}
    for _ in range(repeat):
        root = tempfile.mkdtemp(prefix="torchvision-", dir=work)
        spec = {"mirror": hub.url_of_archives(), "root": root, "download_only": True}
        seconds["download"].append(run_program(python, spec, work)["download_seconds"])
        for config in fashion_mnist.FEATURES:
            answer = network.run_child(["cold-load", layout.REPO_ID, config], hub.endpoint, work)
            seconds[f"load_dataset_{config}"].append(answer["seconds"])
    network.set_condition(hub, network.Condition(0.0))
    return {name: statistics.median(values) for name, values in seconds.items()}


@dataclasses.dataclass(frozen=True)
class TorchvisionFigures:
    """Loops are `LOOPS`' names; first uses `FIRST_USES`'."""

    versions: dict[str, str]  # torchvision, torch and datasets of the environment that ran the program
    repeat: int  # rounds of every loop
    epoch_seconds: dict[str, float]  # loop -> the median epoch
    ratios: dict[str, float]  # loop -> its epoch / torchvision's
    first_use_seconds: dict[str, float]  # first use -> the median seconds at 100 ms a request


def figures(program: Mapping[str, Any], first_uses: Mapping[str, float], repeat: int) -> TorchvisionFigures:
    """The program's answer and the first uses: each loop's seconds and its ratio to torchvision's."""
    epochs = program["epoch_seconds"]
    return TorchvisionFigures(
        versions={name: program[name] for name in ("torchvision", "torch", "datasets")},
        repeat=repeat,
        epoch_seconds=dict(epochs),
        ratios={name: value / epochs["torchvision"] for name, value in epochs.items()},
        first_use_seconds=dict(first_uses),
    )


def table(f: TorchvisionFigures) -> str:
    """The report's part: every loop against torchvision's epoch, with the targets' verdicts, then the first uses."""
    versions = ", ".join(f"{name} {version}" for name, version in f.versions.items())
    rows = [
        report.row(what, report.seconds(f.epoch_seconds[name]), report.ratio(f.ratios[name]),
                   report.verdict_if_target((report.PEER_SECTION, "ratios", name), f.ratios[name]))
        for name, what in LOOPS.items()
    ]  # fmt: skip
    epochs = report.table(
        ("loop", "seconds", "ratio to torchvision's", "target"), "lrrl", rows,
        f"The train split, one epoch each ({versions}; the median of {f.repeat} runs, taking turns):",
    )  # fmt: skip
    first_uses = report.table(
        ("first use", "seconds"), "lr",
        [report.row(what, report.seconds(f.first_use_seconds[name])) for name, what in FIRST_USES.items()],
        "A first use with every request held 100 ms, each in a fresh process:",
    )  # fmt: skip
    return epochs + "\n\n" + first_uses


FIRST_USES = {"download": "torchvision `FashionMNIST(root, download=True)`"} | {
    f"load_dataset_{config}": f"a cold `load_dataset` of `{config}`, both splits" for config in fashion_mnist.FEATURES
}


def measure(setup: Setup) -> TorchvisionFigures | None:
    """torchvision's epoch beside the card's recipes, then the first uses at 100 ms a request, in the far Hub."""
    if setup.torchvision_python is None or setup.archive_dir is None:
        setup.unavailable[report.PEER_SECTION] = (
            "no environment with torchvision (--torchvision-python)" if setup.archive_dir else "no --data-dir"
        )
        return None
    work = setup.work / "torchvision-peer"
    work.mkdir()
    with network.far_hub(setup.repo, setup.one_shard, setup.archive_dir, setup.archives, work / "hub") as hub:
        files = {config: str(setup.repo / layout.split_glob(config, "train")) for config in fashion_mnist.FEATURES}
        spec = {"mirror": hub.url_of_archives(), "root": str(work / "torchvision"), "train_files": files}
        program = run_program(setup.torchvision_python, spec | {"repeat": setup.repeat}, work)
        first_uses = far_first_uses(hub, setup.torchvision_python, setup.repeat, work)
    return figures(program, first_uses, setup.repeat)
