"""benchmarks/headline.py: the card's rows, both figures and their ratio, and only the rows taken."""

from __future__ import annotations

from benchmarks import headline

ROWS = (
    headline.Headline("arrays", "ours_seconds", "Keras", "theirs_seconds"),
    headline.Headline("the Trainer", "ours_steps", "in memory", "theirs_steps", unit="steps/s"),
)


def test_a_row_gives_both_figures_and_their_ratio() -> None:
    text = headline.table({"ours_seconds": 0.5, "theirs_seconds": 2.0, "ours_steps": 30.0, "theirs_steps": 20.0}, ROWS)
    lines = text.splitlines()
    assert lines[0] == "| what you do | this copy | what you would use instead | ratio |"
    assert lines[1] == "|---|---:|---|---:|"
    assert lines[2:] == [
        "| arrays | 0.50 s | Keras: 2.00 s | 0.25 |",
        "| the Trainer | 30.0 steps/s | in memory: 20.0 steps/s | 1.50 |",
    ]


def test_a_row_not_taken_is_left_out() -> None:
    text = headline.table({"ours_seconds": 0.5, "theirs_seconds": None, "ours_steps": 30.0, "theirs_steps": 20.0}, ROWS)
    assert "arrays" not in text and "the Trainer" in text
    assert headline.table({}, ROWS) == ""
