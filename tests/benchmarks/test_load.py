"""benchmarks/load.py on the synthetic archives: cold and warm `load_dataset` of the local copy."""

from __future__ import annotations

import datasets

from benchmarks import load as bench_load
from benchmarks.harness import Setup


def test_cold_and_warm_loads_are_timed_and_tabled(bench_setup: Setup) -> None:
    figures = bench_load.measure(bench_setup)
    assert figures.load_seconds_cold > 0 and figures.load_seconds_warm > 0
    text = bench_load.table(figures)
    assert "| cold: a new cache |" in text and "| warm: the cache filled |" in text


def test_a_cold_load_fills_the_cache_it_is_given(bench_setup: Setup) -> None:
    cache = bench_setup.work / "load-test-cache"
    assert bench_load.load_seconds(bench_setup.repo, cache) > 0
    assert any(cache.rglob("*.arrow"))
    assert datasets.load_dataset(str(bench_setup.repo), split="test", cache_dir=str(cache)).num_rows > 0
