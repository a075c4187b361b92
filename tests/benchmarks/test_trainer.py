"""benchmarks/trainer.py on the synthetic archives: the Trainer's figures are produced (none is timed here)."""

from __future__ import annotations

import pytest

from benchmarks import report, trainer
from benchmarks.harness import Setup, in_fresh_process
from tests.helpers import synthetic

TARGETS = [key for key in report.TARGETS if key[0] == "trainer"]


@pytest.fixture(scope="module")
def figures(bench_setup: Setup) -> trainer.TrainerFigures:
    return in_fresh_process(trainer.measure, bench_setup)  # as `run.SECTIONS` measures it


def test_the_plan_fits_the_data() -> None:
    real, tiny = trainer.Plan(60_000), trainer.Plan(synthetic.SIZES["train"])
    assert (real.batch, real.warmup, real.steps, real.speed_steps) == (64, 10, 156, 167)
    assert real.checkpoints == [234, 468, 843]  # 25%, 50% and 90% of the 937 steps of an epoch
    assert tiny.batch == 5 and 0 < tiny.checkpoints[0] < tiny.checkpoints[-1] < synthetic.SIZES["train"] // tiny.batch


def test_every_figure_is_taken(figures: trainer.TrainerFigures) -> None:
    for name in trainer.CONFIGS:
        stream, memory = figures.steps_per_second_stream[name], figures.steps_per_second_memory[name]
        assert stream > 0 and memory > 0 and figures.trainer_ratios[name] == stream / memory
        assert figures.prepare_seconds_memory[name] > 0
    fresh = figures.first_step_seconds_fresh
    for mode in trainer.RESUMES:
        resumed = figures.first_step_seconds_resumed[mode]
        assert fresh > 0 and resumed > 0 and figures.resume_ratios[mode] == resumed / fresh
    assert 100 < figures.loader_state_bytes < 1000  # a few integers and names, as JSON
    assert len(TARGETS) == 2 + len(trainer.RESUMES) + 1
    assert all(report.figure({"trainer": figures}, key) > 0 for key in TARGETS)


def test_the_table_has_a_row_per_figure_and_the_verdicts(figures: trainer.TrainerFigures) -> None:
    text = trainer.table(figures)
    assert text.count("\n| ") == 1 + len(trainer.CONFIGS) + len(trainer.RESUMES) + 1  # the header, the rows, the state
    for key in TARGETS:
        assert report.verdict(key, report.figure({"trainer": figures}, key)) in text
