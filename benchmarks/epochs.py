"""Epochs of the train split against torchvision's loop: in memory, and streamed from local files.

Both compare with the same torchvision-style epoch (in-memory uint8 arrays, a PIL image and `ToTensor()`
per item, 2 `DataLoader` workers, `benchmarks.loops`). It runs once a round, taking turns with every loop,
so both tables share one measurement of it. Runs in a fresh interpreter (`in_fresh_process`), as a
training script would.

In memory: what users write without the card (`with_format("torch")`) for each config, which the targets
are about, and the card's in-memory `pixels` recipe; `--long` adds the card's batch-decoding recipe and
torchvision's loop with no workers. Streamed: each config's stream with 2 workers against torchvision's
epoch, and what a second worker adds to the `fashion_mnist` stream (it decodes PNGs, so workers should
scale it); `--long` adds the other worker counts and the older one-file-per-split layout.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import datasets
import numpy as np

import fashion_mnist
from benchmarks import copies, loops, report
from benchmarks.harness import Setup, epoch_seconds, in_fresh_process, interleaved_medians
from recipes import arrays_pixels

# In-memory loop -> what the table calls it, in the table's order.
ROWS = {
    "pixels_plain": '`pixels`, plain `DataLoader(ds.with_format("torch"))`',
    "pixels_card": "`pixels`, the card's in-memory recipe",
    "image_plain": '`fashion_mnist`, plain `DataLoader(ds.with_format("torch"))`',
    "image_card": "`fashion_mnist`, the card's batch-decoding recipe",
}
TORCHVISION = "torchvision-style `FashionMNIST` + `ToTensor()`"
WORKER_COUNTS = (0, 1, 2)
# stream -> what the table calls it, and the worker counts the default run takes (`--long` takes every count).
STREAMS = {
    "pixels": ("`pixels`, the card's stream", (2,)),
    "image": ("`fashion_mnist`, the card's stream", (1, 2)),
    "one_shard": ("`fashion_mnist`, one file per split (the older layout)", ()),
}


@dataclasses.dataclass(frozen=True)
class EpochFigures:
    """Seconds of each loop and stream, each against torchvision's epoch with 2 workers."""

    train_files: int  # the files the streams read
    torchvision_seconds: float  # the reference: torchvision's epoch, 2 workers
    epoch_seconds: dict[str, float]  # in-memory loop -> seconds (with `--long`, also "torchvision_0w")
    epoch_ratios: dict[str, float]  # each of our loops (`ROWS`) -> seconds / torchvision's
    stream_seconds: dict[str, float]  # "{stream}_{workers}w" -> seconds
    stream_rates: dict[str, float]  # the same -> examples per second
    stream_ratios: dict[str, float]  # the same -> seconds / torchvision's
    stream_scaling: dict[str, float]  # stream -> its seconds with 1 worker / with 2


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


def measure(setup: Setup) -> EpochFigures:
    return in_fresh_process(measure_here, setup)


def measure_here(setup: Setup) -> EpochFigures:
    train = TrainSplit.load(setup)
    n = len(train)
    in_memory, streamed = in_memory_runs(setup, train), stream_runs(setup, n)
    torchvision = {
        "torchvision_2w": lambda: epoch_seconds(loops.torchvision_style_batches(train.arrays, train.labels, 2), n)
    }
    times = interleaved_medians(torchvision | in_memory | streamed, setup.repeat)
    files = len(copies.shard_paths(setup.repo, fashion_mnist.NAME, "train"))
    pick = lambda runs: {name: times[name] for name in runs}  # noqa: E731
    return figures(times["torchvision_2w"], pick(in_memory), pick(streamed), n, files)


def in_memory_runs(setup: Setup, train: TrainSplit) -> dict[str, Callable[[], float]]:
    """Each in-memory loop's epoch, as a run returning its seconds."""
    n = len(train)
    chosen = {
        "pixels_plain": lambda: epoch_seconds(loops.plain_loader(train.pixels, 2), n),
        "pixels_card": lambda: epoch_seconds(loops.pixels_in_memory(train.pixels), n),
        "image_plain": lambda: epoch_seconds(loops.plain_loader(train.images, 2), n),
    }
    if setup.long:
        chosen["image_card"] = lambda: epoch_seconds(loops.png_batch_transform(train.images, 2), n)
        chosen["torchvision_0w"] = lambda: epoch_seconds(
            loops.torchvision_style_batches(train.arrays, train.labels, 0), n
        )
    return chosen


def stream_runs(setup: Setup, num_examples: int) -> dict[str, Callable[[], float]]:
    """`{stream}_{workers}w` -> a streamed epoch, as a run returning its seconds."""
    streams = {
        "pixels": functools.partial(loops.pixels_stream_batches, setup.repo),
        "image": functools.partial(loops.png_stream_batches, setup.repo),
        "one_shard": functools.partial(loops.png_stream_batches, setup.one_shard),
    }
    return {
        f"{name}_{workers}w": functools.partial(
            lambda batches, w: epoch_seconds(batches(w), num_examples), batches, workers
        )
        for name, batches in streams.items()
        for workers in (WORKER_COUNTS if setup.long else STREAMS[name][1])
    }


def figures(
    torchvision: float, in_memory: dict[str, float], streams: dict[str, float], num_examples: int, train_files: int
) -> EpochFigures:
    """The figures of the runs' median seconds (as `in_memory_runs` and `stream_runs` name them) and torchvision's."""
    scaling = {
        name: streams[f"{name}_1w"] / streams[f"{name}_2w"]
        for name in STREAMS
        if f"{name}_1w" in streams and f"{name}_2w" in streams
    }
    return EpochFigures(
        train_files=train_files,
        torchvision_seconds=torchvision,
        epoch_seconds=in_memory,
        epoch_ratios={name: in_memory[name] / torchvision for name in ROWS if name in in_memory},
        stream_seconds=streams,
        stream_rates={name: num_examples / value for name, value in streams.items()},
        stream_ratios={name: value / torchvision for name, value in streams.items()},
        stream_scaling=scaling,
    )


def table(f: EpochFigures) -> str:
    """The in-memory loops, then the streams: both against the same torchvision epoch."""
    taken = [(name, what) for name, what in ROWS.items() if name in f.epoch_seconds]
    rows = [
        report.row(what, report.seconds(f.epoch_seconds[name]),
                   f"{TORCHVISION}: {report.seconds(f.torchvision_seconds)}" if i == 0 else "the same",
                   report.ratio(f.epoch_ratios[name]),
                   report.verdict_if_target(("epochs", "epoch_ratios", name), f.epoch_ratios[name]))
        for i, (name, what) in enumerate(taken)
    ]  # fmt: skip
    if "torchvision_0w" in f.epoch_seconds:
        rows.append(
            report.row(f"{TORCHVISION}, no workers", report.seconds(f.epoch_seconds["torchvision_0w"]), "", "", "")
        )
    return report.comparison_table(rows) + "\n\n" + stream_table(f)


def stream_table(f: EpochFigures) -> str:
    rows = []
    for name, (what, _) in STREAMS.items():
        ratio = f.stream_ratios.get(f"{name}_2w")
        if ratio is None:
            continue
        scaling = f.stream_scaling.get(name)
        rows.append(
            report.row(what, *(report.rate(f.stream_rates.get(f"{name}_{n}w")) for n in WORKER_COUNTS),
                       "" if scaling is None else report.ratio(scaling),
                       report.verdict_if_target(("epochs", "stream_scaling", name), scaling),
                       report.ratio(ratio), report.verdict_if_target(("epochs", "stream_ratios", f"{name}_2w"), ratio))
        )  # fmt: skip
    caption = f"The same epoch streamed from local files, in {f.train_files} files, examples per second:"
    header = ("stream", *(report.workers(n) for n in WORKER_COUNTS), "2 workers / 1", "target",
              "epoch time / torchvision's, 2 workers", "target")  # fmt: skip
    return report.table(header, "lrrrrlrl", rows, caption)
