"""benchmarks/build.py on the synthetic archives: the builds and the floor are timed, no speed asserted."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import fashion_mnist
from benchmarks import build
from benchmarks.harness import Setup
from benchmarks.loops import decode_pngs
from tests.helpers import synthetic


@pytest.fixture(scope="module")
def figures(bench_setup: Setup) -> build.BuildFigures:
    return build.measure(bench_setup)


def test_the_long_run_times_both_builds_against_the_floor(figures: build.BuildFigures) -> None:
    assert figures.encode_floor_stride == 1 and "PIL PNG-encoding all images" in build.table(figures)
    assert all(value > 0 for value in dataclasses.asdict(figures).values())
    assert figures.build_ratio_2proc == figures.build_seconds_2proc / figures.encode_floor_seconds
    assert figures.build_ratio_1proc == figures.build_seconds_1proc / figures.encode_floor_seconds


def test_the_default_run_times_the_target_only(bench_setup: Setup) -> None:
    figures = build.measure(dataclasses.replace(bench_setup, long=False))
    assert figures.build_seconds_1proc is None and figures.build_ratio_2proc > 0
    text = build.table(figures)
    assert "| 1 process |" not in text and f"every {build.FLOOR_STRIDE}th image, scaled up" in text


def test_the_floor_encodes_every_image_of_both_splits(bench_setup: Setup) -> None:
    pixels = build.all_pixels(bench_setup)
    assert pixels.shape == (sum(synthetic.SIZES.values()), *fashion_mnist.IMAGE_SHAPE) and pixels.dtype == np.uint8
    pngs = build.encode_pngs(pixels)
    assert np.array_equal(decode_pngs(pngs), pixels)


def test_the_table_gives_each_build_its_ratio_and_the_target_its_verdict(figures: build.BuildFigures) -> None:
    text = build.table(figures)
    assert "| 1 process |" in text and "| 2 processes |" in text
    assert f"| {figures.build_ratio_2proc:.2f} | ≤ 0.7: " in text
