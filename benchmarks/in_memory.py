"""One shuffled epoch of the train split, not streaming: this copy's loops, for `benchmarks.epochs` to time.

The torchvision-style loader (`benchmarks.peers`) holds the uint8 arrays in memory and makes a PIL
image and a tensor per item. Ours: what users write without the card (`with_format("torch")`)
for each config, which the targets are about, and the card's in-memory `pixels` recipe.
`--long` adds the card's batch-decoding recipe for `fashion_mnist` and torchvision's loop
with no workers.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

import datasets
import numpy as np

import fashion_mnist
from benchmarks import loops, peers, report
from benchmarks.harness import Figures, Setup, epoch_seconds
from recipes import arrays_pixels

# run -> what the table calls it, in the table's order.
ROWS = {
    "pixels_plain": '`pixels`, plain `DataLoader(ds.with_format("torch"))`',
    "pixels_card": "`pixels`, the card's in-memory recipe",
    "image_plain": '`fashion_mnist`, plain `DataLoader(ds.with_format("torch"))`',
    "image_card": "`fashion_mnist`, the card's batch-decoding recipe",
}


@dataclasses.dataclass(frozen=True)
class TrainSplit:
    """The train split from the setup's filled cache: both configs, and the uint8 arrays torchvision's loop holds."""

    images: datasets.Dataset
    pixels: datasets.Dataset
    arrays: np.ndarray
    labels: np.ndarray

    @classmethod
    def load(cls, setup: Setup) -> TrainSplit:
        load = functools.partial(datasets.load_dataset, str(setup.repo), split="train", cache_dir=str(setup.warm_cache))
        images, pixels = load(), load(name=fashion_mnist.PIXELS)
        return cls(images, pixels, *arrays_pixels.to_arrays(pixels))

    def __len__(self) -> int:
        return len(self.labels)


def runs(setup: Setup, train: TrainSplit) -> dict[str, Callable[[], float]]:
    """Each loop's epoch, as a run returning its seconds; the torchvision loop with 2 workers is `epochs`'."""
    n = len(train)
    chosen = {
        "pixels_plain": lambda: epoch_seconds(loops.plain_loader(train.pixels, 2), n),
        "pixels_card": lambda: epoch_seconds(loops.pixels_in_memory(train.pixels), n),
        "image_plain": lambda: epoch_seconds(loops.plain_loader(train.images, 2), n),
    }
    if setup.long:
        chosen["image_card"] = lambda: epoch_seconds(loops.png_batch_transform(train.images, 2), n)
        chosen["torchvision_0w"] = lambda: epoch_seconds(
            peers.torchvision_style_batches(train.arrays, train.labels, 0), n
        )
    return chosen


def figures(times: Mapping[str, float], torchvision: float) -> Figures:
    """Seconds of each loop, and each of ours against torchvision's epoch with 2 workers."""
    found: Figures = {f"epoch_seconds_{name}": value for name, value in times.items()}
    return found | {f"epoch_ratio_{name}": times[name] / torchvision for name in ROWS if name in times}


def table(r: Mapping[str, Any]) -> str:
    torchvision = "torchvision-style `FashionMNIST` + `ToTensor()`"
    taken = [(name, what) for name, what in ROWS.items() if report.taken(r, f"epoch_seconds_{name}")]
    rows = [
        report.row(what, report.seconds(r[f"epoch_seconds_{name}"]),
                   f"{torchvision}: {report.seconds(r['epoch_seconds_torchvision_2w'])}" if i == 0 else "the same",
                   report.ratio(r[f"epoch_ratio_{name}"]), report.verdict_if_target(r, f"epoch_ratio_{name}"))
        for i, (name, what) in enumerate(taken)
    ]  # fmt: skip
    if report.taken(r, "epoch_seconds_torchvision_0w"):
        rows.append(
            report.row(f"{torchvision}, no workers", report.seconds(r["epoch_seconds_torchvision_0w"]), "", "", "")
        )
    return report.comparison_table(rows)
