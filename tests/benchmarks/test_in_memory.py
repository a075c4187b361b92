"""benchmarks/in_memory.py on the synthetic archives: the loops an in-memory epoch is timed with, and their table."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import fashion_mnist
from benchmarks import in_memory as bench_in_memory
from benchmarks.harness import Setup
from benchmarks.in_memory import TrainSplit
from tests.helpers import synthetic


@pytest.fixture(scope="module")
def train(bench_setup: Setup) -> TrainSplit:
    return TrainSplit.load(bench_setup)


def test_the_train_split_is_loaded_once_for_every_loop(train: TrainSplit) -> None:
    assert len(train) == synthetic.SIZES["train"] == train.images.num_rows == train.pixels.num_rows
    assert train.arrays.shape == (len(train), *fashion_mnist.IMAGE_SHAPE) and train.arrays.dtype == np.uint8


def test_the_default_run_times_the_loops_the_targets_need(bench_setup: Setup, train: TrainSplit) -> None:
    default = bench_in_memory.runs(dataclasses.replace(bench_setup, long=False), train)
    assert set(default) == {"pixels_plain", "pixels_card", "image_plain"}
    assert set(bench_in_memory.runs(bench_setup, train)) == {*default, "image_card", "torchvision_0w"}
    assert default["pixels_card"]() > 0  # an epoch that checks every batch and counts every example


def test_every_loop_is_set_against_torchvision() -> None:
    figures = bench_in_memory.figures({"pixels_plain": 1.0, "image_plain": 3.0, "torchvision_0w": 5.0}, 2.0)
    assert figures == {
        "epoch_seconds_pixels_plain": 1.0, "epoch_seconds_image_plain": 3.0, "epoch_seconds_torchvision_0w": 5.0,
        "epoch_ratio_pixels_plain": 0.5, "epoch_ratio_image_plain": 1.5,
    }  # fmt: skip


def test_the_table_leaves_out_the_rows_not_taken() -> None:
    figures = bench_in_memory.figures({"pixels_plain": 1.0, "pixels_card": 0.1, "image_plain": 3.0}, 2.0)
    text = bench_in_memory.table({**figures, "epoch_seconds_torchvision_2w": 2.0, "train_examples": 40})
    assert "| 0.50 | ≤ 0.5: met |" in text and "| 1.50 | ≤ 1.2: **missed** |" in text
    assert "no workers" not in text and "batch-decoding" not in text
    assert text.startswith("| this copy |"), "the sentences around the table are RESULTS.md's"
