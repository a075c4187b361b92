"""benchmarks/report.py: the targets, the verdicts and the tables the sections render."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from benchmarks import headline, report, run


@dataclasses.dataclass(frozen=True)
class Figures:
    build_ratio_2proc: float | None = None
    stream_scaling: dict[str, float] = dataclasses.field(default_factory=dict)


def figures_class(section: str) -> type:
    """The dataclass a section's `measure` returns."""
    (measure,) = [s.measure for s in run.SECTIONS if s.name == section]
    hint = typing.get_type_hints(measure)["return"]
    return next(arg for arg in typing.get_args(hint) or (hint,) if arg is not type(None))


KEYS = [*report.TARGETS, *(k for row in headline.BENCHMARK_ROWS
                            for k in (row.ours, row.theirs))]  # fmt: skip


@pytest.mark.parametrize("key", KEYS, ids=str)
def test_every_target_and_headline_names_a_field_of_its_sections_figures(key: report.Key) -> None:
    section, field, *_ = key
    assert field in {f.name for f in dataclasses.fields(figures_class(section))}


@pytest.mark.parametrize(
    ("figures", "key", "verdict"),
    [
        (Figures(build_ratio_2proc=0.6), ("build", "build_ratio_2proc"), "≤ 0.7: met"),
        (Figures(build_ratio_2proc=0.71), ("build", "build_ratio_2proc"), "≤ 0.7: **missed**"),
        (Figures(stream_scaling={"image": 1.8}), ("epochs", "stream_scaling", "image"), "≥ 1.7: met"),
        (Figures(stream_scaling={"image": 1.2}), ("epochs", "stream_scaling", "image"), "≥ 1.7: **missed**"),
        (Figures(), ("epochs", "stream_scaling", "image"), "≥ 1.7: not measured"),
    ],
)
def test_verdict(figures: Figures, key: report.Key, verdict: str) -> None:
    assert report.verdict(key, report.figure({key[0]: figures}, key)) == verdict


def test_a_figure_given_for_context_has_no_verdict_and_a_typo_raises() -> None:
    assert report.verdict_if_target(("build", "build_ratio_1proc"), 1.5) == ""
    assert report.verdict_if_target(("build", "build_ratio_2proc"), 0.5) == "≤ 0.7: met"
    assert report.figure({}, ("build", "build_ratio_2proc")) is None  # the section did not run
    with pytest.raises(AttributeError):
        report.figure({"build": Figures()}, ("build", "build_ratio_2procs"))
    with pytest.raises(KeyError):
        report.verdict(("build", "build_ratio_2procs"), 0.5)


def test_table_is_aligned_columns_after_a_caption_if_given() -> None:
    rows = [report.row("a", report.seconds(1.234))]
    assert report.table(("what", "seconds"), "lr", rows) == "| what | seconds |\n|---|---:|\n| a | 1.23 s |"
    assert report.table(("what", "seconds"), "lr", rows, "Caption:").startswith("Caption:\n\n| what |")


def test_a_table_without_rows_is_left_out() -> None:
    assert report.table(("what",), "l", [], "Caption:") == ""


def test_cells() -> None:
    assert (report.seconds(None), report.ratio(None), report.rate(None)) == ("n/a", "n/a", "")
    assert (report.ratio(1.0049, 3), report.rate(12345.6), report.workers(1), report.workers(2)) == (
        "1.005", "12,346", "1 worker", "2 workers",
    )  # fmt: skip
