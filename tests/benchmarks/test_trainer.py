"""benchmarks/trainer.py on the synthetic archives: the Trainer's figures are produced (none is timed here)."""

from __future__ import annotations

import pytest

from benchmarks import report, trainer
from benchmarks.harness import Setup
from tests.helpers import synthetic

TARGETS = ("trainer_ratio_image", "trainer_ratio_pixels", "trainer_resume_ratio_skip", "trainer_resume_ratio_stateful")


@pytest.fixture(scope="module")
def figures(bench_setup: Setup) -> dict:
    return trainer.measure(bench_setup)


def test_the_plan_fits_the_data() -> None:
    real, tiny = trainer.Plan(60_000), trainer.Plan(synthetic.SIZES["train"])
    assert (real.batch, real.warmup, real.steps, real.checkpoint) == (64, 10, 156, 167)
    assert real.checkpoint < 60_000 // 64 // 2  # the resume is mid-epoch
    assert tiny.batch == 5 and tiny.checkpoint < synthetic.SIZES["train"] // tiny.batch


def test_every_figure_is_taken(figures: dict) -> None:
    for name in trainer.CONFIGS:
        stream, memory = (figures[f"trainer_steps_per_second_{kind}_{name}"] for kind in ("stream", "memory"))
        assert stream > 0 and memory > 0 and figures[f"trainer_ratio_{name}"] == stream / memory
        assert figures[f"trainer_prepare_seconds_memory_{name}"] > 0
    for mode in trainer.RESUMES:
        fresh, resumed = (figures[f"trainer_first_step_seconds_{run}_{mode}"] for run in ("fresh", "resumed"))
        assert fresh > 0 and resumed > 0 and figures[f"trainer_resume_ratio_{mode}"] == resumed / fresh
    assert all(isinstance(figures[key], float) and figures[key] > 0 for key in TARGETS)


def test_the_table_has_a_row_per_figure_and_the_verdicts(figures: dict) -> None:
    text = trainer.table(figures)
    assert text.count("\n| ") == 1 + len(trainer.CONFIGS) + len(trainer.RESUMES)  # the header, then the rows
    for key in TARGETS:
        assert report.target_verdict(figures, key) in text
