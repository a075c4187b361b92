"""A split as one uint8 array: Keras' loader against the `pixels` recipe, bare PIL against the PNG recipe.

The `pixels` target compares paths that start from files on disk on the train split: the
`pixels` figure includes `load_dataset` itself (from a filled cache), as Keras' includes
gunzipping the archives. The decoding target compares per-image costs, so by default it
decodes the test split (a sixth of the work); `--long` decodes the train split and adds
`.with_format("numpy")` (not in the card). Keras' own `load_data()` is the frameworks section's
(`benchmarks.frameworks`), timed once for the whole report. Each path's array is
checked, the first time it runs, against the floor's: a timing of a wrong result means nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import time
from collections.abc import Callable, Sequence

import datasets
import numpy as np
from PIL import Image as PILImage

import fashion_mnist
from benchmarks import loops, report
from benchmarks.copies import read_pngs
from benchmarks.harness import Setup, interleaved_medians
from recipes import arrays_pixels, arrays_png

DECODE_SPLIT = {False: "test", True: "train"}  # by `--long`


@dataclasses.dataclass(frozen=True)
class ArrayFigures:
    """The train split as arrays against Keras' floor; a split's PNGs decoded against bare PIL."""

    keras_floor_seconds: float | None  # None without local archives
    array_seconds_pixels: float
    array_ratio_pixels: float | None
    decode_examples: int
    decode_floor_seconds: float
    decode_seconds: float
    decode_ratio: float
    decode_seconds_numpy_format: float | None = None  # `--long`
    decode_ratio_numpy_format: float | None = None


def measure(setup: Setup) -> ArrayFigures:
    load = functools.partial(datasets.load_dataset, str(setup.repo), cache_dir=str(setup.warm_cache))
    split = DECODE_SPLIT[setup.long]
    pngs, images = read_pngs(setup.repo, split), load(split=split)
    decoded = SameArray()
    runs = {
        "pil_floor": decoded.timed("bare PIL decoding", lambda: decode_pngs(pngs)),
        "png": decoded.timed("the PNG recipe", lambda: arrays_png.to_arrays(images)[0]),
    }
    if setup.long:
        runs["png_numpy_format"] = decoded.timed('with_format("numpy")', lambda: loops.png_array_numpy_format(images))
    train = decoded if split == "train" else SameArray()
    if setup.archive_dir is not None:
        archive_dir, archives = setup.archive_dir, setup.archives
        runs["keras_floor"] = train.timed("gunzip", lambda: loops.keras_style_split(archive_dir, archives, "train")[0])
    elif train.expected is None:
        train.expected = decode_pngs(read_pngs(setup.repo, "train"))
    runs["pixels"] = train.timed(
        "the pixels recipe", lambda: arrays_pixels.to_arrays(load(split="train", name=fashion_mnist.PIXELS))[0]
    )
    times = interleaved_medians(runs, setup.repeat)
    floor, pil, numpy_format = times.get("keras_floor"), times["pil_floor"], times.get("png_numpy_format")
    return ArrayFigures(
        keras_floor_seconds=floor,
        array_seconds_pixels=times["pixels"],
        array_ratio_pixels=times["pixels"] / floor if floor else None,
        decode_examples=len(pngs),
        decode_floor_seconds=pil,
        decode_seconds=times["png"],
        decode_ratio=times["png"] / pil,
        decode_seconds_numpy_format=numpy_format,
        decode_ratio_numpy_format=None if numpy_format is None else numpy_format / pil,
    )


class SameArray:
    """The uint8 array every path of a group must give: the first path to run (the floor) sets it.

    A timing of a wrong result means nothing, so each run's array is checked, outside its time.
    """

    def __init__(self) -> None:
        self.expected: np.ndarray | None = None

    def timed(self, what: str, produce: Callable[[], np.ndarray]) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            images = produce()
            elapsed = time.perf_counter() - start
            if self.expected is None:
                self.expected = images
            else:
                check_same_pixels(what, images, self.expected)
            return elapsed

        return run


def decode_pngs(pngs: Sequence[bytes]) -> np.ndarray:
    """The decode floor: bare PIL decoding of each PNG, stacked into one array."""
    return np.stack([np.asarray(PILImage.open(io.BytesIO(png))) for png in pngs])


def check_same_pixels(what: str, images: np.ndarray, expected: np.ndarray) -> None:
    """A timing of a wrong result means nothing: each path must give the floor's exact array."""
    if images.shape != expected.shape or images.dtype != np.uint8 or not np.array_equal(images, expected):
        raise RuntimeError(
            f"{what} returned {images.dtype} {images.shape}, expected the {expected.dtype} {expected.shape} "
            "array that bare PIL decoding gives; the benchmark would time a different result"
        )


def table(f: ArrayFigures) -> str:
    pngs = f"`fashion_mnist`, {f.decode_examples:,} PNGs"
    pil = f"bare PIL decoding of the same PNGs: {report.seconds(f.decode_floor_seconds)}"
    rows = [
        report.row("`pixels`, the train split: `load_dataset` (cached) + the card's recipe",
                   report.seconds(f.array_seconds_pixels),
                   f"gunzip + `np.frombuffer` (Keras' `load_data()`): {report.seconds(f.keras_floor_seconds)}",
                   report.ratio(f.array_ratio_pixels),
                   report.verdict(("arrays", "array_ratio_pixels"), f.array_ratio_pixels)),
        report.row(f"{pngs}: the card's recipe (PNG bytes, one decoding loop)", report.seconds(f.decode_seconds), pil,
                   report.ratio(f.decode_ratio), report.verdict(("arrays", "decode_ratio"), f.decode_ratio)),
    ]  # fmt: skip
    if f.decode_seconds_numpy_format is not None:
        rows.append(
            report.row(f'{pngs}: `.with_format("numpy")["image"][:]`', report.seconds(f.decode_seconds_numpy_format),
                       "the same", report.ratio(f.decode_ratio_numpy_format), "")
        )  # fmt: skip
    return report.comparison_table(rows)
