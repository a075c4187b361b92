"""benchmarks/network.py on tiny synthetic archives, through a real local Hub: every figure made, none timed here."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

import fashion_mnist
from benchmarks import network as bench_network
from benchmarks import report
from benchmarks.harness import Setup

CONDITIONS = (bench_network.Condition(0.0, bench_network.CAP, shared_cap=True),)  # one: each run is a fresh process


@pytest.fixture(scope="module")
def far_hub(
    bench_setup: Setup, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[bench_network.FarHub, Setup]]:
    """The synthetic copy, its one-file twin and its archives, served by one local Hub."""
    root = tmp_path_factory.mktemp("far-hub")
    with bench_network.far_hub(
        bench_setup.repo, bench_setup.one_shard, bench_setup.archive_dir, bench_setup.archives, root
    ) as hub:
        yield hub, bench_setup


@pytest.fixture(scope="module")
def results(far_hub: tuple[bench_network.FarHub, Setup], tmp_path_factory: pytest.TempPathFactory) -> dict:
    hub, setup = far_hub
    work = tmp_path_factory.mktemp("runs")
    figures = bench_network.cold_first_use(hub, CONDITIONS, 1, work, setup.archives)
    return figures | bench_network.hub_streaming(hub, setup.repo, (0.0,), (0,), 1, work, with_one_file=True)


def test_every_first_use_is_timed_and_counted_at_every_condition(results: dict) -> None:
    for condition in CONDITIONS:
        for name in ("image", "image_one_file", "pixels", "pixels_one_file", "keras_style", "torchvision_style"):
            assert results[f"cold_seconds_{name}_{condition.key}"] > 0, (name, condition)
            assert results[f"cold_requests_{name}_{condition.key}"] > 0, (name, condition)
        assert results[f"cold_requests_keras_style_{condition.key}"] == 4  # one GET an archive
        assert results[f"cold_connections_keras_style_{condition.key}"] == 4  # urlretrieve: a connection each


def test_a_split_of_16_files_or_more_is_fetched_over_parallel_connections(results: dict) -> None:
    """Why the copy has 16 files a split: `datasets` downloads them through a thread pool (one file: one connection)."""
    assert min(fashion_mnist.NUM_SHARDS.values()) >= 16
    key = CONDITIONS[0].key
    assert results[f"cold_connections_image_one_file_{key}"] == 1
    assert results[f"cold_connections_image_{key}"] > 1
    assert results[f"cold_requests_image_{key}"] > results[f"cold_requests_image_one_file_{key}"]


def test_hub_streams_are_measured_beside_local_files(results: dict) -> None:
    for name in ("image", "pixels"):
        assert results[f"hub_stream_rate_{name}_hub_one_file_0w_0ms"] > 0
        assert results[f"hub_stream_rate_{name}_hub_0w_0ms"] > 0
        assert results[f"hub_stream_requests_{name}_hub_0w_0ms"] >= fashion_mnist.NUM_SHARDS["train"]  # a range a file
        expected = results[f"hub_stream_rate_{name}_hub_0w_0ms"] / results[f"stream_rate_{name}_local_0w"]
        assert results[f"hub_stream_ratio_{name}_0w_0ms"] == pytest.approx(expected)


def test_the_report_gives_every_target_a_verdict(results: dict) -> None:
    text = bench_network.table(results)

    targets = [key for key in results if key in report.TARGETS]
    assert len(targets) == 2 * len(CONDITIONS) + 2  # each config's cold ratio per condition, each Hub stream at 0 ms
    for key in targets:
        assert report.target_verdict(results, key) in text
    assert "| 0 ms, 100 Mbit/s shared by all connections | `pixels` |" in text


def test_every_condition_of_the_long_run_has_its_targets() -> None:
    """The report's table of targets names each cold ratio `--long` takes, and each Hub stream at 0 ms."""
    for condition in bench_network.COLD_CONDITIONS["long"]:
        for name in ("image", "pixels"):
            assert f"cold_ratio_{name}_{condition.key}" in report.TARGETS
    for workers in bench_network.STREAM_WORKERS["long"]:
        for name in ("image", "pixels"):
            assert f"hub_stream_ratio_{name}_{workers}w_0ms" in report.TARGETS


def test_conditions_are_named_as_a_network_engineer_would() -> None:
    assert bench_network.Condition(0.1, 12_500_000).describe() == "100 ms, 100 Mbit/s per connection"
    assert bench_network.Condition(0.05).describe() == "50 ms, no cap"
    for condition in bench_network.COLD_CONDITIONS["long"]:  # figure names carry the whole condition
        assert bench_network.Condition.from_key(condition.key) == condition


def test_without_the_archives_the_section_says_why_and_measures_nothing(bench_setup: Setup) -> None:
    setup = dataclasses.replace(bench_setup, archive_dir=None, unavailable={})

    assert bench_network.measure(setup) == {}
    assert "pass --data-dir" in setup.unavailable["network"]
    assert bench_network.table({}) == ""
