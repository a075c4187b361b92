"""benchmarks/headline.py: the card's rows, both figures and their ratio, and only the rows taken."""

from __future__ import annotations

import dataclasses

import pytest

from benchmarks import headline


@dataclasses.dataclass(frozen=True)
class Figures:
    ours_seconds: float | None
    theirs_seconds: float | None
    steps: dict[str, float]


ROWS = (
    headline.Headline("arrays", ("a", "ours_seconds"), "Keras", ("a", "theirs_seconds")),
    headline.Headline("the Trainer", ("a", "steps", "ours"), "in memory", ("a", "steps", "theirs"), unit="steps/s"),
)


def test_a_row_gives_both_figures_and_their_ratio() -> None:
    text = headline.table({"a": Figures(0.5, 2.0, {"ours": 30.0, "theirs": 20.0})}, ROWS)
    lines = text.splitlines()
    assert lines[0] == "| what you do | this copy | what you would use instead | ratio |"
    assert lines[1] == "|---|---:|---|---:|"
    assert lines[2:] == [
        "| arrays | 0.50 s | Keras: 2.00 s | 0.25 |",
        "| the Trainer | 30.0 steps/s | in memory: 20.0 steps/s | 1.50 |",
    ]


def test_a_row_not_taken_is_left_out() -> None:
    text = headline.table({"a": Figures(0.5, None, {"ours": 30.0, "theirs": 20.0})}, ROWS)
    assert "arrays" not in text and "the Trainer" in text
    assert headline.table({}, ROWS) == ""


def test_a_misspelt_figure_is_an_error_not_a_missing_row() -> None:
    with pytest.raises(AttributeError):
        headline.table({"a": Figures(0.5, 2.0, {})}, [headline.Headline("x", ("a", "our_seconds"), "y", ("a", "x"))])
