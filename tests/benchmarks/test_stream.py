"""benchmarks/stream.py on the synthetic archives: the card's streams an epoch is timed with, and their table."""

from __future__ import annotations

import dataclasses

from benchmarks import report
from benchmarks import stream as bench_stream
from benchmarks.harness import Setup
from tests.helpers import synthetic

TARGETS = ("stream_ratio_pixels_2w", "stream_ratio_image_2w", "stream_scaling_2w_image")


def test_the_default_run_streams_what_the_targets_need(bench_setup: Setup) -> None:
    default = bench_stream.runs(dataclasses.replace(bench_setup, long=False), synthetic.SIZES["train"])
    assert set(default) == {"pixels_2w", "image_1w", "image_2w"}
    every = bench_stream.runs(bench_setup, synthetic.SIZES["train"])
    assert set(every) == {f"{name}_{n}w" for name in ("pixels", "image", "one_shard") for n in (0, 1, 2)}
    assert every["one_shard_0w"]() > 0  # a whole epoch of the older layout, every batch checked


def test_rates_ratios_and_scaling() -> None:
    figures = bench_stream.figures({"pixels_2w": 1.0, "image_1w": 6.0, "image_2w": 4.0}, 2.0, 1000)
    assert figures["stream_rate_image_2w"] == 250.0 and figures["stream_seconds_image_1w"] == 6.0
    assert figures["stream_ratio_pixels_2w"] == 0.5 and figures["stream_ratio_image_2w"] == 2.0
    assert figures["stream_scaling_2w_image"] == 1.5 and "stream_scaling_2w_pixels" not in figures
    assert "stream_ratio_image" not in figures, "each figure under one name"


def test_the_table_has_a_row_per_stream_taken_and_the_verdicts() -> None:
    figures = bench_stream.figures({"pixels_2w": 1.0, "image_1w": 6.0, "image_2w": 4.0}, 2.0, 1000)
    text = bench_stream.table(
        {**figures, "epoch_seconds_torchvision_2w": 2.0, "train_examples": 1000, "train_files": 8}
    )
    assert text.count("\n| `") == 2 and "in 8 files" in text and "older layout" not in text
    assert "| `pixels`, the card's stream |  |  | 1,000 |  |  | 0.50 | ≤ 1.5: met |" in text
    for key in TARGETS:
        assert report.target_verdict(figures, key) in text
