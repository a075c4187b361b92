"""One shuffled epoch of the train split, not streaming: torchvision's loop against this copy's.

An epoch is 256-example batches of float tensors `(256, 1, 28, 28)` in [0, 1] with 2
`DataLoader` workers. The torchvision-style loader holds the uint8 arrays in memory and makes
a PIL image and a tensor per item. Ours: what users write without the card
(`with_format("torch")`) for each config, which the targets are about, and the card's in-memory
`pixels` recipe. `--long` adds the card's batch-decoding recipe for `fashion_mnist` and
torchvision's loop with no workers. Runs in a fresh interpreter (`in_fresh_process`), as a
training script would.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import datasets

import fashion_mnist
from scripts import bench_peers as peers
from scripts import bench_recipes as recipes
from scripts import bench_report as report
from scripts.bench_harness import Figures, Setup, epoch_seconds, in_fresh_process, interleaved_medians

PLAIN_RECIPE_NOTE = (
    'The plain `DataLoader(ds.with_format("torch"), batch_size=256, shuffle=True)` rows are what `datasets` gives '
    "without the card: it gathers each batch as 256 one-row slices, converts each example on its own (decoding each "
    "PNG through a `PIL.Image`, widening `pixels` to int64), splits the batch into examples and the collate function "
    "stacks them again. The card's recipes do none of that."
)


def measure(setup: Setup) -> Figures:
    return in_fresh_process(measure_here, setup)


def measure_here(setup: Setup) -> Figures:
    load = functools.partial(datasets.load_dataset, str(setup.repo), split="train", cache_dir=str(setup.warm_cache))
    images, pixels = load(), load(name=fashion_mnist.PIXELS)
    arrays, labels = recipes.pixels_array(pixels)
    n = len(labels)
    runs = {
        "torchvision_2w": lambda: epoch_seconds(peers.torchvision_style_batches(arrays, labels, 2), n),
        "pixels_plain": lambda: epoch_seconds(recipes.plain_loader(pixels, 2), n),
        "pixels_card": lambda: epoch_seconds(recipes.pixels_in_memory(pixels), n),
        "image_plain": lambda: epoch_seconds(recipes.plain_loader(images, 2), n),
    }
    if setup.long:
        runs["image_card"] = lambda: epoch_seconds(recipes.png_batch_transform(images, 2), n)
        runs["torchvision_0w"] = lambda: epoch_seconds(peers.torchvision_style_batches(arrays, labels, 0), n)
    times = interleaved_medians(runs, setup.repeat)
    figures: Figures = {f"epoch_seconds_{name}": value for name, value in times.items()}
    for name, _ in ROWS:
        if name in times:
            figures[f"epoch_ratio_{name}"] = times[name] / times["torchvision_2w"]
    return figures


ROWS = (
    ("pixels_plain", '`pixels`, plain `DataLoader(ds.with_format("torch"))`'),
    ("pixels_card", "`pixels`, the card's in-memory recipe"),
    ("image_plain", '`fashion_mnist`, plain `DataLoader(ds.with_format("torch"))`'),
    ("image_card", "`fashion_mnist`, the card's batch-decoding recipe"),
)


def table(r: Mapping[str, Any]) -> str:
    torchvision = "torchvision-style `FashionMNIST` + `ToTensor()`"
    rows = [
        report.row(what, report.seconds(r[f"epoch_seconds_{name}"]),
                   f"{torchvision}: {report.seconds(r['epoch_seconds_torchvision_2w'])}" if i == 0 else "the same",
                   report.ratio(r[f"epoch_ratio_{name}"]), report.verdict_if_target(r, f"epoch_ratio_{name}"))
        for i, (name, what) in enumerate(row for row in ROWS if report.taken(r, f"epoch_seconds_{row[0]}"))
    ]  # fmt: skip
    if report.taken(r, "epoch_seconds_torchvision_0w"):
        rows.append(
            report.row(f"{torchvision}, no workers", report.seconds(r["epoch_seconds_torchvision_0w"]), "", "", "")
        )
    caption = (
        f"An epoch of the train split ({r['train_examples']:,} examples), not streaming: shuffled 256-example batches "
        "of float tensors `(256, 1, 28, 28)` in [0, 1], 2 `DataLoader` workers:"
    )
    header = ("this copy", "measured", "compared with", "ratio", "target")
    return report.table(caption, header, "lrlrl", rows) + "\n\n" + PLAIN_RECIPE_NOTE
