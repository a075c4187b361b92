"""benchmarks/arrays.py on the synthetic archives: each path to a uint8 array is checked, then timed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from benchmarks import arrays
from benchmarks.harness import Setup
from tests.helpers import synthetic


@pytest.fixture(scope="module")
def figures(bench_setup: Setup) -> arrays.ArrayFigures:
    return arrays.measure(bench_setup)


def test_the_long_run_times_every_path(figures: arrays.ArrayFigures) -> None:
    for value in (figures.keras_floor_seconds, figures.array_seconds_pixels, figures.decode_floor_seconds,
                  figures.decode_seconds, figures.decode_seconds_numpy_format):  # fmt: skip
        assert value > 0
    assert figures.array_ratio_pixels == figures.array_seconds_pixels / figures.keras_floor_seconds
    assert figures.decode_examples == synthetic.SIZES["train"]


def test_the_default_run_leaves_out_the_paths_no_target_needs(bench_setup: Setup) -> None:
    figures = arrays.measure(dataclasses.replace(bench_setup, long=False, unavailable={}))
    assert figures.decode_seconds_numpy_format is None
    assert figures.decode_ratio > 0 and figures.array_ratio_pixels > 0
    assert figures.decode_examples == synthetic.SIZES["test"]  # decoding costs the same per image: a smaller split


def test_a_path_that_gives_other_pixels_is_not_timed() -> None:
    expected = np.zeros((2, 28, 28), np.uint8)
    with pytest.raises(RuntimeError, match="the benchmark would time a different result"):
        arrays.check_same_pixels("a recipe", expected.astype(np.int64), expected)
    with pytest.raises(RuntimeError, match="a recipe returned uint8"):
        arrays.check_same_pixels("a recipe", expected + 1, expected)


def test_each_run_of_a_group_must_give_the_first_runs_array() -> None:
    group = arrays.SameArray()
    floor = group.timed("the floor", lambda: np.zeros((2, 28, 28), np.uint8))
    other = group.timed("a recipe", lambda: np.ones((2, 28, 28), np.uint8))
    assert floor() >= 0 and floor() >= 0
    with pytest.raises(RuntimeError, match="a recipe returned uint8"):
        other()


def test_the_table_has_both_targets_and_the_context_rows(figures: arrays.ArrayFigures) -> None:
    text = arrays.table(figures)
    assert "≤ 1.0: " in text and "≤ 1.3: " in text
    assert '`fashion_mnist`, 40 PNGs: `.with_format("numpy")["image"][:]`' in text
    assert "keras.datasets" not in text, "Keras' own loader is the frameworks section's, timed once"
