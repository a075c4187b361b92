"""scripts/bench_hub.py on the synthetic archives: loads and streams over HTTP from the tests' local Hub (olah)."""

from __future__ import annotations

import dataclasses

from scripts import bench_hub
from scripts.bench_harness import Setup


def test_the_long_run_loads_and_streams_from_the_local_hub(bench_setup: Setup) -> None:
    setup = dataclasses.replace(bench_setup, unavailable={})
    figures = bench_hub.measure(setup)
    assert setup.unavailable == {}
    assert figures["hub_load_seconds_cold"] > 0 and figures["hub_load_seconds_warm"] > 0
    for name in ("image", "pixels"):
        assert figures[f"hub_stream_rate_{name}_1w"] > 0 and figures[f"hub_stream_rate_{name}_2w"] > 0
    text = bench_hub.table(figures)
    assert "| cold: nothing cached |" in text and "| `fashion_mnist` |" in text and "| `pixels` |" in text


def test_the_default_run_leaves_the_hub_out(bench_setup: Setup) -> None:
    assert bench_hub.measure(dataclasses.replace(bench_setup, long=False)) == {}
    assert bench_hub.table({}) == ""
