"""Streamed epochs of the train split from local files, as the card's usage section streams, against torchvision.

The targets: each config's stream with 2 `DataLoader` workers against torchvision's in-memory
epoch, and what a second worker adds to the `fashion_mnist` stream (it decodes PNGs, so
workers should scale it). `--long` adds the other worker counts and the older one-file-per-split
layout, where one worker idles. Runs in a fresh interpreter (`in_fresh_process`), as a
training script would.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import datasets

import fashion_mnist
from scripts import bench_peers as peers
from scripts import bench_recipes as recipes
from scripts import bench_report as report
from scripts.bench_harness import Figures, Setup, epoch_seconds, in_fresh_process, interleaved_medians

WORKER_COUNTS = (0, 1, 2)
# stream -> worker counts timed by default; `--long` times every stream with every count.
DEFAULT_RUNS = {"pixels": (2,), "image": (1, 2)}


def measure(setup: Setup) -> Figures:
    return in_fresh_process(measure_here, setup)


def measure_here(setup: Setup) -> Figures:
    arrays, labels = recipes.pixels_array(
        datasets.load_dataset(str(setup.repo), fashion_mnist.PIXELS, split="train", cache_dir=str(setup.warm_cache))
    )
    n = len(labels)
    streams = {
        "pixels": functools.partial(recipes.pixels_stream_batches, setup.repo),
        "image": functools.partial(recipes.png_stream_batches, setup.repo),
        "one_shard": functools.partial(recipes.png_stream_batches, setup.one_shard),
    }
    runs = {"torchvision_2w": lambda: epoch_seconds(peers.torchvision_style_batches(arrays, labels, 2), n)}
    for name, stream in streams.items():
        for workers in WORKER_COUNTS if setup.long else DEFAULT_RUNS.get(name, ()):
            runs[f"{name}_{workers}w"] = functools.partial(stream_epoch_seconds, stream, workers, n)
    times = interleaved_medians(runs, setup.repeat)
    torchvision = times.pop("torchvision_2w")
    figures: Figures = {"stream_seconds_torchvision_2w": torchvision}
    for key, value in times.items():
        figures[f"stream_seconds_{key}"] = value
        figures[f"stream_rate_{key}"] = n / value
        figures[f"stream_ratio_{key}"] = value / torchvision
    for name in streams:
        if f"{name}_1w" in times and f"{name}_2w" in times:
            figures[f"stream_scaling_2w_{name}"] = times[f"{name}_1w"] / times[f"{name}_2w"]
    # The targets' names, as the issues gave them.
    figures["stream_ratio_pixels"] = figures["stream_ratio_pixels_2w"]
    figures["stream_ratio_image"] = figures["stream_ratio_image_2w"]
    figures["stream_scaling_2w"] = figures["stream_scaling_2w_image"]
    return figures


def stream_epoch_seconds(batches: Callable[[int], recipes.Batches], workers: int, num_examples: int) -> float:
    return epoch_seconds(batches(workers), num_examples)


STREAMS = (
    ("pixels", "`pixels`, the card's stream", "stream_ratio_pixels", None),
    ("image", "`fashion_mnist`, the card's stream", "stream_ratio_image", "stream_scaling_2w"),
    ("one_shard", "`fashion_mnist`, one file per split (the older layout)", None, None),
)


def table(r: Mapping[str, Any]) -> str:
    rows = []
    for name, what, ratio_target, scaling_target in STREAMS:
        if not report.taken(r, f"stream_rate_{name}_2w"):
            continue
        rates = [report.rate(r.get(f"stream_rate_{name}_{n}w")) for n in WORKER_COUNTS]
        scaling = r.get(f"stream_scaling_2w_{name}")
        rows.append(
            report.row(what, *rates, "" if scaling is None else report.ratio(scaling),
                       report.target_verdict(r, scaling_target) if scaling_target else "",
                       report.ratio(r[f"stream_ratio_{name}_2w"]),
                       report.target_verdict(r, ratio_target) if ratio_target else "")
        )  # fmt: skip
    caption = (
        f"Streaming the train split ({r['train_examples']:,} examples, in {r['train_files']} files) "
        "from local files into a torch `DataLoader` as the usage section shows, examples per second, against "
        "torchvision's in-memory epoch with 2 workers "
        f"({report.seconds(r['stream_seconds_torchvision_2w'])} in this run):"
    )
    header = ("stream", *(report.workers(n) for n in WORKER_COUNTS), "2 workers / 1", "target",
              "epoch time / torchvision's, 2 workers", "target")  # fmt: skip
    return report.table(caption, header, "lrrrrlrl", rows)
