"""benchmarks/report.py: the targets' verdicts and the tables the sections render."""

from __future__ import annotations

import pytest

from benchmarks import report


@pytest.mark.parametrize(
    ("results", "key", "verdict"),
    [
        ({"build_ratio_2proc": 0.6}, "build_ratio_2proc", "≤ 0.7: met"),
        ({"build_ratio_2proc": 0.71}, "build_ratio_2proc", "≤ 0.7: **missed**"),
        ({"stream_scaling_2w_image": 1.8}, "stream_scaling_2w_image", "≥ 1.7: met"),
        ({"stream_scaling_2w_image": 1.2}, "stream_scaling_2w_image", "≥ 1.7: **missed**"),
        ({"stream_scaling_2w_image": None}, "stream_scaling_2w_image", "≥ 1.7: not measured"),
        ({}, "decode_ratio", "≤ 1.3: not measured"),
    ],
)
def test_target_verdict(results: dict, key: str, verdict: str) -> None:
    assert report.target_verdict(results, key) == verdict


def test_a_figure_given_for_context_has_no_verdict() -> None:
    assert report.verdict_if_target({"build_ratio_1proc": 1.5}, "build_ratio_1proc") == ""
    assert report.verdict_if_target({"build_ratio_2proc": 0.5}, "build_ratio_2proc") == "≤ 0.7: met"


def test_table_is_a_caption_and_aligned_columns() -> None:
    rows = [report.row("a", report.seconds(1.234))]
    assert report.table(("what", "seconds"), "lr", rows) == "| what | seconds |\n|---|---:|\n| a | 1.23 s |"
    assert report.table(("what", "seconds"), "lr", rows, "Caption:").startswith("Caption:\n\n| what |")


def test_a_table_without_rows_is_left_out() -> None:
    assert report.table(("what",), "l", [], "Caption:") == ""


def test_taken_tells_a_figure_not_measured_from_one_that_could_not_be() -> None:
    assert report.taken({"a": None, "b": 1.0}, "a", "b")
    assert not report.taken({"b": 1.0}, "a", "b")


def test_cells() -> None:
    assert (report.seconds(None), report.ratio(None), report.rate(None)) == ("n/a", "n/a", "")
    assert (report.ratio(1.0049, 3), report.rate(12345.6), report.workers(1), report.workers(2)) == (
        "1.005", "12,346", "1 worker", "2 workers",
    )  # fmt: skip
