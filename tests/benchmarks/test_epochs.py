"""benchmarks/epochs.py on the synthetic archives: every loop and stream against one torchvision epoch, in a
fresh interpreter."""

from __future__ import annotations

import pytest

from benchmarks import epochs, report
from benchmarks.harness import Setup

TARGETS = ("epoch_ratio_pixels_plain", "epoch_ratio_image_plain", "stream_ratio_pixels_2w",
           "stream_ratio_image_2w", "stream_scaling_2w_image")  # fmt: skip


@pytest.fixture(scope="module")
def figures(bench_setup: Setup) -> dict:
    return epochs.measure(bench_setup)


def test_the_long_run_times_every_loop_and_stream_against_one_torchvision_epoch(figures: dict) -> None:
    torchvision = figures["epoch_seconds_torchvision_2w"]
    assert torchvision > 0 and figures["epoch_seconds_torchvision_0w"] > 0
    for name in ("pixels_plain", "pixels_card", "image_plain", "image_card"):
        assert figures[f"epoch_ratio_{name}"] == figures[f"epoch_seconds_{name}"] / torchvision
    for name in ("pixels", "image", "one_shard"):
        for workers in (0, 1, 2):
            assert (
                figures[f"stream_ratio_{name}_{workers}w"] == figures[f"stream_seconds_{name}_{workers}w"] / torchvision
            )
    assert all(figures[key] > 0 for key in TARGETS)


def test_the_table_holds_both_tables_and_every_verdict(figures: dict) -> None:
    text = epochs.table({**figures, "train_examples": 40, "train_files": 8})
    assert "| this copy |" in text and "in 8 files, examples per second" in text and "older layout" in text
    for key in TARGETS:
        assert report.target_verdict(figures, key) in text
