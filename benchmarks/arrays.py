"""A split as one uint8 array: Keras' loader against the `pixels` recipe, bare PIL against the PNG recipe.

The `pixels` figure includes `load_dataset` (from a filled cache), as Keras' includes gunzipping the archives.
Decoding costs the same per image, so the decode target takes the test split; `--long` the train split, adding
`.with_format("numpy")` (not in the card). Keras' own `load_data()` is timed once, by `benchmarks.frameworks`."""

import dataclasses
import functools
import time
from collections.abc import Callable

import datasets
import numpy as np

import fashion_mnist
from benchmarks import copies, harness, loops, report
from recipes import arrays_pixels, arrays_png


@dataclasses.dataclass(frozen=True)
class ArrayFigures:
    keras_floor_seconds: float | None  # None without local archives
    array_seconds_pixels: float
    array_ratio_pixels: float | None
    decode_examples: int
    decode_floor_seconds: float  # bare PIL
    decode_seconds: float
    decode_ratio: float
    decode_seconds_numpy_format: float | None = None  # `--long`
    decode_ratio_numpy_format: float | None = None


def measure(setup: harness.Setup) -> ArrayFigures:
    load = functools.partial(datasets.load_dataset, str(setup.repo), cache_dir=str(setup.warm_cache))
    split = "train" if setup.long else "test"
    pngs, images = copies.read_pngs(setup.repo, split), load(split=split)
    decoded = SameArray()
    runs = {"pil_floor": decoded.timed("bare PIL decoding", lambda: loops.decode_pngs(pngs))}
    runs["png"] = decoded.timed("the PNG recipe", lambda: arrays_png.to_arrays(images)[0])
    if setup.long:
        runs["png_numpy_format"] = decoded.timed(
            'with_format("numpy")', lambda: images.with_format("numpy")["image"][:]
        )
    train = decoded if setup.long else SameArray()
    if setup.archive_dir is None:  # the pixels recipe is checked against bare PIL's array
        train.expected = loops.decode_pngs(copies.read_pngs(setup.repo, "train"))
    else:
        archive_dir, archives = setup.archive_dir, setup.archives
        runs["keras_floor"] = train.timed("gunzip", lambda: loops.keras_style_split(archive_dir, archives, "train")[0])
    pixels_split = functools.partial(load, split="train", name=fashion_mnist.PIXELS)
    runs["pixels"] = train.timed("the pixels recipe", lambda: arrays_pixels.to_arrays(pixels_split())[0])
    times = harness.interleaved_medians(runs, setup.repeat)
    floor, pil, png, pixels = times.get("keras_floor"), times["pil_floor"], times["png"], times["pixels"]
    numpy_format = times.get("png_numpy_format")
    numpy_ratio = None if numpy_format is None else numpy_format / pil
    return ArrayFigures(
        floor, pixels, pixels / floor if floor else None, len(pngs), pil, png, png / pil, numpy_format, numpy_ratio
    )


@dataclasses.dataclass
class SameArray:
    """The array each path of a group must give, set by the first to run: a timing of a wrong result means nothing."""

    expected: np.ndarray | None = None

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


def check_same_pixels(what: str, images: np.ndarray, expected: np.ndarray) -> None:
    if images.shape != expected.shape or images.dtype != np.uint8 or not np.array_equal(images, expected):
        raise RuntimeError(
            f"{what} returned {images.dtype} {images.shape}, expected the {expected.dtype} {expected.shape} "
            "array that bare PIL decoding gives; the benchmark would time a different result"
        )


def table(f: ArrayFigures) -> str:
    pngs = f"`fashion_mnist`, {f.decode_examples:,} PNGs"
    keras = f"gunzip + `np.frombuffer` (Keras' `load_data()`): {report.seconds(f.keras_floor_seconds)}"
    pil = f"bare PIL decoding of the same PNGs: {report.seconds(f.decode_floor_seconds)}"
    rows = [
        report.row("`pixels`, the train split: `load_dataset` (cached) + the card's recipe",
                   report.seconds(f.array_seconds_pixels), keras, *report.judged(f, ("arrays", "array_ratio_pixels"))),
        report.row(f"{pngs}: the card's recipe (PNG bytes, one decoding loop)", report.seconds(f.decode_seconds), pil,
                   *report.judged(f, ("arrays", "decode_ratio"))),
    ]  # fmt: skip
    if f.decode_seconds_numpy_format is not None:
        rows.append(report.row(f'{pngs}: `.with_format("numpy")["image"][:]`',
                               report.seconds(f.decode_seconds_numpy_format), "the same",
                               *report.judged(f, ("arrays", "decode_ratio_numpy_format"))))  # fmt: skip
    return report.comparison_table(rows)
