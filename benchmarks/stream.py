"""Streamed epochs of the train split from local files, as the card's usage section streams: runs for `epochs`.

The targets: each config's stream with 2 `DataLoader` workers against torchvision's in-memory
epoch (`benchmarks.epochs` times it, taking turns with these), and what a second worker adds to
the `fashion_mnist` stream (it decodes PNGs, so workers should scale it). `--long` adds the
other worker counts and the older one-file-per-split layout, where one worker idles.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from benchmarks import loops, report
from benchmarks.harness import Figures, Setup, epoch_seconds

WORKER_COUNTS = (0, 1, 2)
# stream -> worker counts timed by default; `--long` times every stream with every count.
DEFAULT_RUNS = {"pixels": (2,), "image": (1, 2)}


def runs(setup: Setup, num_examples: int) -> dict[str, Callable[[], float]]:
    """`{stream}_{workers}w` -> a streamed epoch, as a run returning its seconds."""
    streams = {
        "pixels": functools.partial(loops.pixels_stream_batches, setup.repo),
        "image": functools.partial(loops.png_stream_batches, setup.repo),
        "one_shard": functools.partial(loops.png_stream_batches, setup.one_shard),
    }
    return {
        f"{name}_{workers}w": functools.partial(stream_epoch_seconds, stream, workers, num_examples)
        for name, stream in streams.items()
        for workers in (WORKER_COUNTS if setup.long else DEFAULT_RUNS.get(name, ()))
    }


def figures(times: Mapping[str, float], torchvision: float, num_examples: int) -> Figures:
    """Examples per second of each stream, each against torchvision's epoch, and what a second worker adds."""
    found: Figures = {}
    for key, value in times.items():
        found[f"stream_seconds_{key}"] = value
        found[f"stream_rate_{key}"] = num_examples / value
        found[f"stream_ratio_{key}"] = value / torchvision
    for name in {key.rsplit("_", 1)[0] for key in times}:
        if f"{name}_1w" in times and f"{name}_2w" in times:
            found[f"stream_scaling_2w_{name}"] = times[f"{name}_1w"] / times[f"{name}_2w"]
    return found


def stream_epoch_seconds(batches: Callable[[int], loops.Batches], workers: int, num_examples: int) -> float:
    return epoch_seconds(batches(workers), num_examples)


STREAMS = (
    ("pixels", "`pixels`, the card's stream", "stream_ratio_pixels_2w", None),
    ("image", "`fashion_mnist`, the card's stream", "stream_ratio_image_2w", "stream_scaling_2w_image"),
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
    caption = f"The same epoch streamed from local files, in {r['train_files']} files, examples per second:"
    header = ("stream", *(report.workers(n) for n in WORKER_COUNTS), "2 workers / 1", "target",
              "epoch time / torchvision's, 2 workers", "target")  # fmt: skip
    return report.table(header, "lrrrrlrl", rows, caption)
