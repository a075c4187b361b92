"""The build (archives -> verified shards of both configs, preview, card, infos) against its floor.

The floor is what no build can skip: PIL encoding every image as PNG, once, in one process.
PNG-encoding costs about the same for every image, so by default the floor is timed on every
`FLOOR_STRIDE`-th image and scaled up (a second of the section instead of half of it); `--long`
encodes them all. The target is the 2-process build; the build that made the copy the other
sections read is its first run. `--long` adds the 1-process build.
"""

from __future__ import annotations

import dataclasses
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
from benchmarks.harness import Setup, interleaved_medians, seconds
from recipes import arrays_pixels
from scripts import build

FLOOR_STRIDE = 10


@dataclasses.dataclass(frozen=True)
class BuildFigures:
    """The floor (PIL-encoding, scaled up from every `encode_floor_stride`-th image) and each build against it."""

    encode_floor_seconds: float
    encode_floor_stride: int
    build_seconds_2proc: float
    build_ratio_2proc: float
    build_seconds_1proc: float | None = None  # `--long`
    build_ratio_1proc: float | None = None


def measure(setup: Setup) -> BuildFigures:
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
    floor, one = times["encode_floor"], times.get("1proc")
    return BuildFigures(
        floor, stride, times["2proc"], times["2proc"] / floor, one, None if one is None else one / floor
    )


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


def table(f: BuildFigures) -> str:
    sample = "all images" if f.encode_floor_stride == 1 else f"every {f.encode_floor_stride}th image, scaled up"
    floor = f"PIL PNG-encoding {sample}, 1 process: {report.seconds(f.encode_floor_seconds)}"
    builds = [("1 process", f.build_seconds_1proc, f.build_ratio_1proc, "build_ratio_1proc"),
              ("2 processes", f.build_seconds_2proc, f.build_ratio_2proc, "build_ratio_2proc")]  # fmt: skip
    rows = [
        report.row(what, report.seconds(value), floor, report.ratio(ratio),
                   report.verdict_if_target(("build", field), ratio))
        for what, value, ratio, field in builds
        if value is not None
    ]  # fmt: skip
    return report.comparison_table(rows, subject="build")
