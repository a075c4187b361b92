"""benchmarks/epochs.py on the synthetic archives: every loop and stream against one torchvision epoch, in a
fresh interpreter; the loops it times, and the tables."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import fashion_mnist
from benchmarks import epochs, report
from benchmarks.epochs import TrainSplit
from benchmarks.harness import Setup
from tests.helpers import synthetic

TARGETS = [key for key in report.TARGETS if key[0] == "epochs"]


@pytest.fixture(scope="module")
def figures(bench_setup: Setup) -> epochs.EpochFigures:
    return epochs.measure(bench_setup)


@pytest.fixture(scope="module")
def train(bench_setup: Setup) -> TrainSplit:
    return TrainSplit.load(bench_setup)


def test_the_long_run_times_every_loop_and_stream_against_one_torchvision_epoch(figures: epochs.EpochFigures) -> None:
    torchvision = figures.torchvision_seconds
    assert torchvision > 0 and figures.epoch_seconds["torchvision_0w"] > 0
    for name in epochs.ROWS:
        assert figures.epoch_ratios[name] == figures.epoch_seconds[name] / torchvision
    for name in epochs.STREAMS:
        for workers in epochs.WORKER_COUNTS:
            run = f"{name}_{workers}w"
            assert figures.stream_ratios[run] == figures.stream_seconds[run] / torchvision
    assert figures.train_files == fashion_mnist.NUM_SHARDS["train"]
    assert all(report.figure({"epochs": figures}, key) > 0 for key in TARGETS)


def test_the_table_holds_both_tables_and_every_verdict(figures: epochs.EpochFigures) -> None:
    text = epochs.table(figures)
    assert "| this copy |" in text and f"in {figures.train_files} files, examples per second" in text
    assert "older layout" in text and "no workers" in text
    for key in TARGETS:
        assert report.verdict(key, report.figure({"epochs": figures}, key)) in text


def test_the_train_split_is_loaded_once_for_every_loop(train: TrainSplit) -> None:
    assert len(train) == synthetic.SIZES["train"] == train.images.num_rows == train.pixels.num_rows
    assert train.arrays.shape == (len(train), *fashion_mnist.IMAGE_SHAPE) and train.arrays.dtype == np.uint8


def test_the_default_run_times_the_loops_and_streams_the_targets_need(bench_setup: Setup, train: TrainSplit) -> None:
    default = dataclasses.replace(bench_setup, long=False)
    in_memory = epochs.in_memory_runs(default, train)
    assert set(in_memory) == {"pixels_plain", "pixels_card", "image_plain"}
    assert set(epochs.in_memory_runs(bench_setup, train)) == {*in_memory, "image_card", "torchvision_0w"}
    assert in_memory["pixels_card"]() > 0  # an epoch that checks every batch and counts every example
    assert set(epochs.stream_runs(default, len(train))) == {"pixels_2w", "image_1w", "image_2w"}
    every = epochs.stream_runs(bench_setup, len(train))
    assert set(every) == {f"{name}_{n}w" for name in epochs.STREAMS for n in epochs.WORKER_COUNTS}
    assert every["one_shard_0w"]() > 0  # a whole epoch of the older layout, every batch checked


def test_rates_ratios_and_scaling() -> None:
    in_memory = {"pixels_plain": 1.0, "pixels_card": 0.1, "image_plain": 3.0}
    figures = epochs.figures(2.0, in_memory, {"pixels_2w": 1.0, "image_1w": 6.0, "image_2w": 4.0}, 1000, 8)
    assert figures.epoch_ratios == {"pixels_plain": 0.5, "pixels_card": 0.05, "image_plain": 1.5}
    assert figures.stream_rates["image_2w"] == 250.0 and figures.stream_seconds["image_1w"] == 6.0
    assert figures.stream_ratios["pixels_2w"] == 0.5 and figures.stream_ratios["image_2w"] == 2.0
    assert figures.stream_scaling == {"image": 1.5}


def test_the_table_leaves_out_the_rows_not_taken() -> None:
    in_memory = {"pixels_plain": 1.0, "pixels_card": 0.1, "image_plain": 3.0}
    text = epochs.table(epochs.figures(2.0, in_memory, {"pixels_2w": 1.0, "image_1w": 6.0, "image_2w": 4.0}, 1000, 8))
    assert "| 0.50 | ≤ 0.5: met |" in text and "| 1.50 | ≤ 1.2: **missed** |" in text
    assert "no workers" not in text and "batch-decoding" not in text and "older layout" not in text
    assert "| `pixels`, the card's stream |  |  | 1,000 |  |  | 0.50 | ≤ 1.5: met |" in text
    assert text.startswith("| this copy |"), "the sentences around the tables are RESULTS.md's"
