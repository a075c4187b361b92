"""benchmarks/framework_runs.py: the child program of the frameworks section, a module ruff checks.

What each run measures is tested through the section, in tests/benchmarks/test_frameworks.py.
"""

from __future__ import annotations

from benchmarks import framework_runs, frameworks


def test_medians_take_turns_and_keep_each_runs_seconds() -> None:
    calls: list[str] = []
    times = framework_runs.medians({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 3)
    assert calls == ["a", "b"] * 3
    assert set(times) == {"a", "b"} and all(value >= 0 for value in times.values())


def test_each_framework_the_section_times_has_a_run() -> None:
    assert set(framework_runs.RUNS) == set(frameworks.BENCHES)
