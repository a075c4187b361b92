"""benchmarks/faults.py on the synthetic archives, through a real local Hub: a clean epoch and one per fault, each
complete; every figure made, none timed here."""

from __future__ import annotations

import pytest
from huggingface_hub import constants

from benchmarks import faults
from benchmarks.harness import Setup

SHORT_READ_TIMEOUT = 2  # seconds: the stall's epoch waits this, not the user's 10 s


@pytest.fixture(scope="module")
def figures(bench_setup: Setup) -> faults.FaultFigures:
    """The section in this process (its forked DataLoader workers inherit the shorter read timeout)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", SHORT_READ_TIMEOUT)
        return faults.measure(bench_setup)


def test_a_clean_epoch_and_one_per_fault_are_timed(figures: faults.FaultFigures) -> None:
    for name in ("none", *faults.KINDS):
        assert figures.epoch_seconds[name] > 0, name
    for kind in faults.KINDS:
        assert figures.cost_seconds[kind] == figures.epoch_seconds[kind] - figures.epoch_seconds["none"]
    assert figures.data_reads >= 2  # a footer and a body at least: the fault fell on a real read
    assert figures.examples > 0 and figures.rounds == 1


def test_the_table_has_a_row_per_fault(figures: faults.FaultFigures) -> None:
    text = faults.table(figures)

    assert "| none |" in text and f"{figures.data_reads} Parquet reads a clean epoch; one run each:" in text
    for kind in faults.KINDS:
        assert faults.WHAT_THE_CLIENT_DOES[kind] in text
