"""The train split as one uint8 array: Keras' loader against the `pixels` recipe, bare PIL against the PNG recipe.

Both targets compare paths that start from files on disk: the `pixels` figure includes
`load_dataset` itself (from a filled cache), as Keras' includes gunzipping the archives.
`--long` adds `.with_format("numpy")` (not in the card) and Keras' own `load_data()`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import datasets
import numpy as np

import fashion_mnist
from scripts import bench_peers as peers
from scripts import bench_recipes as recipes
from scripts import bench_report as report
from scripts.bench_copies import read_pngs
from scripts.bench_harness import Figures, Setup, interleaved_medians, seconds


def measure(setup: Setup) -> Figures:
    pngs = read_pngs(setup.repo, "train")
    expected = decode_pngs(pngs)
    load = functools.partial(datasets.load_dataset, str(setup.repo), split="train", cache_dir=str(setup.warm_cache))
    images = load()
    check_same_pixels("the PNG recipe", recipes.png_array(images)[0], expected)
    check_same_pixels("the pixels recipe", recipes.pixels_array(load(name=fashion_mnist.PIXELS))[0], expected)
    runs = {
        "pixels": lambda: seconds(lambda: recipes.pixels_array(load(name=fashion_mnist.PIXELS))),
        "pil_floor": lambda: seconds(lambda: decode_pngs(pngs)),
        "png": lambda: seconds(lambda: recipes.png_array(images)),
    }
    if setup.archive_dir is not None:
        archive_dir, archives = setup.archive_dir, setup.archives
        check_same_pixels("gunzip", peers.keras_style_split(archive_dir, archives, "train")[0], expected)
        runs["keras_floor"] = lambda: seconds(lambda: peers.keras_style_split(archive_dir, archives, "train"))
    if setup.long:
        check_same_pixels('with_format("numpy")', recipes.png_array_numpy_format(images), expected)
        runs["png_numpy_format"] = lambda: seconds(lambda: recipes.png_array_numpy_format(images))
    times = interleaved_medians(runs, setup.repeat)
    floor = times.get("keras_floor")
    figures: Figures = {
        "keras_floor_seconds": floor,
        "array_seconds_pixels": times["pixels"],
        "array_ratio_pixels": times["pixels"] / floor if floor else None,
        "decode_floor_seconds": times["pil_floor"],
        "decode_seconds": times["png"],
        "decode_ratio": times["png"] / times["pil_floor"],
    }
    if setup.long:
        figures["decode_seconds_numpy_format"] = times["png_numpy_format"]
        figures["decode_ratio_numpy_format"] = times["png_numpy_format"] / times["pil_floor"]
        figures["keras_load_data_seconds"] = keras_figure(setup)
    return figures


def decode_pngs(pngs: Sequence[bytes]) -> np.ndarray:
    """The decode floor: bare PIL decoding of each PNG, stacked into one array."""
    return np.stack([recipes.decode(png) for png in pngs])


def keras_figure(setup: Setup) -> float | None:
    """Keras' own loader where it can run and is not skipped; otherwise None, with the reason recorded."""
    if "keras_load_data_seconds" in setup.unavailable:  # `--skip-keras`
        return None
    try:
        if setup.archive_dir is None:
            raise peers.Unavailable("no local copy of the archives (pass --data-dir)")
        return peers.keras_load_data_seconds(setup.archive_dir, setup.archives, setup.work, setup.repeat)
    except peers.Unavailable as reason:
        setup.unavailable["keras_load_data_seconds"] = str(reason)
        return None


def check_same_pixels(what: str, images: np.ndarray, expected: np.ndarray) -> None:
    """A timing of a wrong result means nothing: each path must give the floor's exact array."""
    if images.shape != expected.shape or images.dtype != np.uint8 or not np.array_equal(images, expected):
        raise RuntimeError(
            f"{what} returned {images.dtype} {images.shape}, expected the {expected.dtype} {expected.shape} "
            "array that bare PIL decoding gives; the benchmark would time a different result"
        )


def table(r: Mapping[str, Any]) -> str:
    pil = f"bare PIL decoding of the same PNGs: {report.seconds(r['decode_floor_seconds'])}"
    rows = [
        report.row("`pixels`, `load_dataset` (cached) + the card's recipe", report.seconds(r["array_seconds_pixels"]),
                   f"gunzip + `np.frombuffer` (Keras' `load_data()`): {report.seconds(r['keras_floor_seconds'])}",
                   report.ratio(r["array_ratio_pixels"]), report.target_verdict(r, "array_ratio_pixels")),
        report.row("`fashion_mnist`, the card's recipe (PNG bytes, one decoding loop)",
                   report.seconds(r["decode_seconds"]), pil, report.ratio(r["decode_ratio"]),
                   report.target_verdict(r, "decode_ratio")),
    ]  # fmt: skip
    if report.taken(r, "decode_seconds_numpy_format"):
        rows.append(
            report.row('`fashion_mnist`, `.with_format("numpy")["image"][:]`',
                       report.seconds(r["decode_seconds_numpy_format"]), "the same",
                       report.ratio(r["decode_ratio_numpy_format"]), "")
        )  # fmt: skip
    if report.taken(r, "keras_load_data_seconds"):
        rows.append(
            report.row("`keras.datasets.fashion_mnist.load_data()`, both splits",
                       report.seconds(r["keras_load_data_seconds"]), "", "", "")
        )  # fmt: skip
    return report.table(
        f"The train split ({r['train_examples']:,} examples) as one uint8 array `(n, 28, 28)`:",
        ("this copy", "measured", "compared with", "ratio", "target"),
        "lrlrl",
        rows,
    )
