"""scripts/bench_epochs.py on the synthetic archives: every epoch gives each example once, in a fresh interpreter."""

from __future__ import annotations

import pytest

from scripts import bench_epochs
from scripts.bench_harness import Setup

LOOPS = ("pixels_plain", "pixels_card", "image_plain", "image_card")


@pytest.fixture(scope="module")
def figures(bench_setup: Setup) -> dict:
    return bench_epochs.measure(bench_setup)


def test_every_loop_is_timed_against_torchvision(figures: dict) -> None:
    assert figures["epoch_seconds_torchvision_2w"] > 0 and figures["epoch_seconds_torchvision_0w"] > 0
    for name in LOOPS:
        assert (
            figures[f"epoch_ratio_{name}"] == figures[f"epoch_seconds_{name}"] / figures["epoch_seconds_torchvision_2w"]
        )


def test_the_table_gives_the_targets_their_verdicts(figures: dict) -> None:
    text = bench_epochs.table({**figures, "train_examples": 40})
    assert "≤ 0.5: " in text and "≤ 1.2: " in text and "no workers" in text
    assert text.endswith(bench_epochs.PLAIN_RECIPE_NOTE)


def test_a_default_runs_table_leaves_out_the_rows_not_taken(figures: dict) -> None:
    default = {key: value for key, value in figures.items() if not key.endswith(("torchvision_0w", "image_card"))}
    text = bench_epochs.table({**default, "train_examples": 40})
    assert "no workers" not in text and "batch-decoding" not in text and "≤ 1.2: " in text
