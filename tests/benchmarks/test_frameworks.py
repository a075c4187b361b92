"""benchmarks/frameworks.py on a tiny synthetic copy: every framework's figures come out; nothing is timed here.

The section's child program is this module's `__main__`: what each run measures is tested through the section.
"""

from __future__ import annotations

import dataclasses
import importlib.util

import pytest

from benchmarks import frameworks
from benchmarks.harness import Setup, Unavailable


@pytest.fixture
def setup(bench_setup: Setup) -> Setup:
    """The benchmark's setup over the synthetic copy, with a list of its own for what could not run."""
    return dataclasses.replace(bench_setup, unavailable={})


def test_keras_figures(setup: Setup) -> None:
    figures = frameworks.bench("keras", setup)
    assert figures["keras_own_seconds"] > 0 and figures["keras_card_seconds"] > 0
    assert figures["keras_card_ratio"] == pytest.approx(figures["keras_card_seconds"] / figures["keras_own_seconds"])
    table = frameworks.table(frameworks.FrameworkFigures(**figures))
    assert "`keras.datasets.fashion_mnist.load_data()`" in table and "JAX" not in table


@pytest.mark.skipif(importlib.util.find_spec("jax") is not None, reason="JAX is installed here")
def test_jax_missing_is_reported_not_raised(setup: Setup) -> None:
    figures = frameworks.measure(setup)
    assert "JAX is not installed" in setup.unavailable["frameworks_jax"]
    assert figures.keras_own_seconds > 0 and figures.jax_card_seconds is None


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed here")
def test_jax_figures(setup: Setup) -> None:
    figures = frameworks.bench("jax", setup)
    assert min(figures[f"jax_{name}_seconds"] for name in ("floor", "card", "format")) > 0


def test_no_archives_is_unavailable(setup: Setup) -> None:
    setup = dataclasses.replace(setup, archive_dir=None)
    with pytest.raises(Unavailable, match="no local copy of the archives"):
        frameworks.bench("keras", setup)
    assert frameworks.table(frameworks.FrameworkFigures()) == ""


def test_the_childs_medians_take_turns_and_keep_each_runs_seconds() -> None:
    calls: list[str] = []
    times = frameworks.medians({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 3)
    assert calls == ["a", "b"] * 3
    assert set(times) == {"a", "b"} and all(value >= 0 for value in times.values())


def test_each_framework_the_section_times_has_a_child_run() -> None:
    assert set(frameworks.RUNS) == set(frameworks.FRAMEWORKS)
