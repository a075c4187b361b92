"""scripts/bench_stream.py on the synthetic archives: the card's streams, each epoch whole, in a fresh interpreter."""

from __future__ import annotations

import dataclasses

import pytest

from scripts import bench_report, bench_stream
from scripts.bench_harness import Setup

TARGETS = ("stream_ratio_pixels", "stream_ratio_image", "stream_scaling_2w")


@pytest.fixture(scope="module")
def figures(bench_setup: Setup) -> dict:
    return bench_stream.measure(bench_setup)


def test_the_long_run_times_every_stream_with_every_worker_count(figures: dict) -> None:
    for name in ("pixels", "image", "one_shard"):
        for workers in bench_stream.WORKER_COUNTS:
            assert figures[f"stream_rate_{name}_{workers}w"] > 0
        assert figures[f"stream_scaling_2w_{name}"] > 0
    assert all(figures[key] > 0 for key in TARGETS)
    assert (
        figures["stream_ratio_image"] == figures["stream_seconds_image_2w"] / figures["stream_seconds_torchvision_2w"]
    )


def test_the_default_run_times_what_the_targets_need(bench_setup: Setup) -> None:
    figures = bench_stream.measure(dataclasses.replace(bench_setup, long=False))
    assert all(figures[key] > 0 for key in TARGETS)
    timed = {key.removeprefix("stream_seconds_") for key in figures if key.startswith("stream_seconds_")}
    assert timed == {"torchvision_2w", "pixels_2w", "image_1w", "image_2w"}


def test_the_table_has_a_row_per_stream_and_the_verdicts(figures: dict) -> None:
    text = bench_stream.table({**figures, "train_examples": 40, "train_files": 8})
    assert text.count("\n| `") == 3 and "in 8 files" in text
    for key in TARGETS:
        assert bench_report.target_verdict(figures, key) in text
