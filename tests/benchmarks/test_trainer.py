"""benchmarks/trainer.py on the synthetic archives: the Trainer's figures are produced (none is timed here)."""

from __future__ import annotations

import pytest

from benchmarks import report, trainer
from benchmarks.harness import Setup
from tests.helpers import synthetic

TARGETS = (
    "trainer_ratio_image",
    "trainer_ratio_pixels",
    *(f"trainer_resume_ratio_{mode}" for mode in trainer.RESUMES),
    "trainer_loader_state_bytes",
)


@pytest.fixture(scope="module")
def figures(bench_setup: Setup) -> dict:
    return trainer.measure(bench_setup)


def test_the_plan_fits_the_data() -> None:
    real, tiny = trainer.Plan(60_000), trainer.Plan(synthetic.SIZES["train"])
    assert (real.batch, real.warmup, real.steps, real.speed_steps) == (64, 10, 156, 167)
    assert real.checkpoints == [234, 468, 843]  # 25%, 50% and 90% of the 937 steps of an epoch
    assert tiny.batch == 5 and 0 < tiny.checkpoints[0] < tiny.checkpoints[-1] < synthetic.SIZES["train"] // tiny.batch


def test_every_figure_is_taken(figures: dict) -> None:
    for name in trainer.CONFIGS:
        stream, memory = (figures[f"trainer_steps_per_second_{kind}_{name}"] for kind in ("stream", "memory"))
        assert stream > 0 and memory > 0 and figures[f"trainer_ratio_{name}"] == stream / memory
        assert figures[f"trainer_prepare_seconds_memory_{name}"] > 0
    fresh = figures["trainer_first_step_seconds_fresh"]
    for mode in trainer.RESUMES:
        resumed = figures[f"trainer_first_step_seconds_resumed_{mode}"]
        assert fresh > 0 and resumed > 0 and figures[f"trainer_resume_ratio_{mode}"] == resumed / fresh
    assert 100 < figures["trainer_loader_state_bytes"] < 1000  # a few integers and names, as JSON
    assert all(isinstance(figures[key], float) and figures[key] > 0 for key in TARGETS)


def test_the_table_has_a_row_per_figure_and_the_verdicts(figures: dict) -> None:
    text = trainer.table(figures)
    assert text.count("\n| ") == 2 + len(trainer.CONFIGS) + len(trainer.RESUMES)  # the header, the rows, the state
    for key in TARGETS:
        assert report.target_verdict(figures, key) in text
