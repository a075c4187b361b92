"""The real torchvision as the peer: its `FashionMNIST` epoch and first download beside this copy's recipes.

torchvision 0.29 needs torch 2.14, which the project's environment does not hold (it keeps the
CPU torch 2.13), so the timed program, `benchmarks/torchvision_epochs.py`, runs with the python
of an environment that holds both (`make compat` makes one: the "vision" environment of
`tests/helpers/compat_envs.py`). The archives and the built copy are served by the network
section's local Hub (`benchmarks.network.far_hub`), which torchvision uses as its mirror:

    python -m benchmarks.torchvision_peer --python VISION_PYTHON --data-dir ARCHIVES --repo-dir BUILT_COPY

Printed: the epochs of the train split taking turns (torchvision's `DataLoader` with 2 workers,
the card's recipes, the plain `with_format("torch")` loops), each as a ratio to torchvision's,
beside the targets (the `pixels` in-memory recipe at most 0.3x, the PNG `DataLoader` recipe at
most 1.0x); then, with every request held 100 ms, torchvision's `download=True` beside a cold
`load_dataset` of each config, each in a fresh process, taking turns.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

import fashion_mnist
from benchmarks import network
from scripts import layout

PROGRAM = pathlib.Path(__file__).with_name("torchvision_epochs.py")
CHECKOUT = pathlib.Path(__file__).resolve().parents[1]
PROGRAM_TIMEOUT = 1800  # seconds: every loop's epochs, on a shared machine
FAR = network.Condition(0.1)  # each request held 100 ms
TARGETS = {"pixels in memory (recipe)": 0.3, "PNG DataLoader (recipe)": 1.0}


def run_program(python: pathlib.Path, spec: dict[str, Any], work: pathlib.Path) -> dict[str, Any]:
    """The timed program with `python`, in a scratch directory, with nothing of the caller's HF settings."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "PYTHON"))}
    environment["HF_HOME"] = tempfile.mkdtemp(prefix="hf-home-", dir=work)
    environment["PYTHONPATH"] = str(CHECKOUT)  # the program imports the card's recipes from the checkout
    done = subprocess.run(
        [str(python), str(PROGRAM), json.dumps(spec)],
        cwd=work, env=environment, capture_output=True, text=True, timeout=PROGRAM_TIMEOUT,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{PROGRAM.name} failed with {python}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def far_first_uses(hub: network.FarHub, python: pathlib.Path, repeat: int, work: pathlib.Path) -> dict[str, float]:
    """Median seconds at 100 ms a request: torchvision's download=True and a cold load_dataset of each config."""
    network.set_condition(hub, FAR)
    seconds: dict[str, list[float]] = {"torchvision download=True": []}
    seconds |= {f"cold load_dataset {config}": [] for config in fashion_mnist.FEATURES}
    for _ in range(repeat):
        root = tempfile.mkdtemp(prefix="torchvision-", dir=work)
        spec = {"mirror": hub.url_of_archives(), "root": root, "download_only": True}
        seconds["torchvision download=True"].append(run_program(python, spec, work)["download_seconds"])
        for config in fashion_mnist.FEATURES:
            answer = network.run_child(["cold-load", network.HUB_REPO_ID, config], hub.endpoint, work)
            seconds[f"cold load_dataset {config}"].append(answer["seconds"])
    network.set_condition(hub, network.Condition(0.0))
    return {name: statistics.median(values) for name, values in seconds.items()}


def table(epochs: dict[str, float], first_uses: dict[str, float]) -> str:
    reference = epochs["torchvision"]
    lines = [
        "| epoch of the train split, batches of 256 | seconds | ratio to torchvision | target |",
        "|---|---:|---:|---|",
    ]
    for name, value in epochs.items():
        target = TARGETS.get(name)
        verdict = "" if target is None else f"<= {target} ({'met' if value / reference <= target else 'missed'})"
        lines.append(f"| {name} | {value:.2f} | {value / reference:.2f} | {verdict} |")
    lines += ["", "| first use, 100 ms a request | seconds |", "|---|---:|"]
    lines += [f"| {name} | {value:.2f} |" for name, value in first_uses.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", type=pathlib.Path, required=True, help="python of an env with torchvision")
    parser.add_argument("--data-dir", type=pathlib.Path, required=True, help="the four original archives")
    parser.add_argument("--repo-dir", type=pathlib.Path, required=True, help="a built copy (make build)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every loop, taking turns")
    args = parser.parse_args(argv)
    work = pathlib.Path(tempfile.mkdtemp(prefix="torchvision-peer-"))
    repo = args.repo_dir.resolve()
    with network.far_hub(repo, repo, args.data_dir.resolve(), fashion_mnist.ARCHIVES, work / "hub") as hub:
        files = {config: str(repo / layout.split_glob(config, "train")) for config in fashion_mnist.FEATURES}
        spec = {"mirror": hub.url_of_archives(), "root": str(work / "torchvision"), "train_files": files}
        report = run_program(args.python, spec | {"repeat": args.repeat}, work)
        first_uses = far_first_uses(hub, args.python, args.repeat, work)
    print(f"torchvision {report['torchvision']}, torch {report['torch']}, datasets {report['datasets']}")
    print(table(report["epoch_seconds"], first_uses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
