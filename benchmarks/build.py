"""The build (archives -> verified shards of both configs, preview, card, infos) against its floor.

The floor is what no build can skip: PIL encoding every image as PNG, once, in one process.
PNG-encoding costs about the same for every image, so by default the floor is timed on every
`FLOOR_STRIDE`-th image and scaled up (a second of the section instead of half of it); `--long`
encodes them all. The target is the 2-process build; the build that made the copy the other
sections read is its first run. `--long` adds the 1-process build.
"""

from __future__ import annotations

import io
import pathlib
import shutil
import tempfile
from collections.abc import Mapping
from typing import Any

import datasets
import numpy as np
from PIL import Image as PILImage

import fashion_mnist
from benchmarks import report
from benchmarks.harness import Figures, Setup, interleaved_medians, seconds
from recipes import arrays_pixels
from scripts import build

FLOOR_STRIDE = 10


def measure(setup: Setup) -> Figures:
    """Build with 2 processes (and 1 with `--long`) against PIL-encoding every image once."""
    stride = 1 if setup.long else FLOOR_STRIDE
    pixels = all_pixels(setup)
    sample = pixels[::stride]
    runs = {
        "encode_floor": lambda: seconds(lambda: encode_pngs(sample)) * len(pixels) / len(sample),
        "2proc": lambda: build_seconds(setup.work, 2, setup.builder_kwargs),
    }
    if setup.long:
        runs["1proc"] = lambda: build_seconds(setup.work, 1, setup.builder_kwargs)
    times = interleaved_medians(
        runs, setup.repeat, taken={"2proc": [setup.build_seconds]} if setup.build_seconds else {}
    )
    floor = times.pop("encode_floor")
    figures: Figures = {"encode_floor_seconds": floor, "encode_floor_stride": stride}
    for name, value in times.items():
        figures[f"build_seconds_{name}"] = value
        figures[f"build_ratio_{name}"] = value / floor
    return figures


def all_pixels(setup: Setup) -> np.ndarray:
    """Every image of both splits as one uint8 array, from the built copy's `pixels` config."""
    splits = [
        datasets.load_dataset(str(setup.repo), fashion_mnist.PIXELS, split=split, cache_dir=str(setup.warm_cache))
        for split in fashion_mnist.SPLITS
    ]
    return np.concatenate([arrays_pixels.to_arrays(split)[0] for split in splits])


def encode_pngs(images: np.ndarray) -> list[bytes]:
    """The build's floor: PIL encoding each image as PNG in one process, nothing else."""
    encoded = []
    for image in images:
        buffer = io.BytesIO()
        PILImage.fromarray(image).save(buffer, format="PNG")
        encoded.append(buffer.getvalue())
    return encoded


def build_seconds(parent: pathlib.Path, num_proc: int, builder_kwargs: Mapping[str, Any]) -> float:
    """Build a fresh copy (archives -> verified shards, preview, card, infos) and return the build's own time."""
    repo = pathlib.Path(tempfile.mkdtemp(prefix=f"build-{num_proc}proc-", dir=parent))
    try:
        return build.build_repo(repo, num_proc=num_proc, **builder_kwargs).seconds
    finally:
        shutil.rmtree(repo)


def table(r: Mapping[str, Any]) -> str:
    sample = "all images" if r["encode_floor_stride"] == 1 else f"every {r['encode_floor_stride']}th image, scaled up"
    floor = f"PIL PNG-encoding {sample}, 1 process: {report.seconds(r['encode_floor_seconds'])}"
    rows = [
        report.row(f"{n} process{'es' if n > 1 else ''}", report.seconds(r[f"build_seconds_{n}proc"]), floor,
                   report.ratio(r[f"build_ratio_{n}proc"]), report.verdict_if_target(r, f"build_ratio_{n}proc"))
        for n in (1, 2)
        if report.taken(r, f"build_seconds_{n}proc")
    ]  # fmt: skip
    return report.comparison_table(rows, subject="build")
