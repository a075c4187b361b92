"""benchmarks/network.py on tiny synthetic archives, through a real local Hub: every figure made, none timed here."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

import fashion_mnist
from benchmarks import network as bench_network
from benchmarks import report
from benchmarks import run as benchmark
from benchmarks.harness import Setup, measured
from benchmarks.network import NetworkFigures as Figures
from local_hub import Link, LocalHub

LINKS = (Link(0.0, bytes_per_second=bench_network.CAP, shared_cap=True),)  # one: each run is a fresh process


@pytest.fixture(scope="module")
def far_hub(bench_setup: Setup, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalHub, Setup]]:
    """The synthetic copy, its one-file twin and its archives, served by one local Hub."""
    with bench_network.far_hub(bench_setup, tmp_path_factory.mktemp("far-hub")) as hub:
        yield hub, bench_setup


@pytest.fixture(scope="module")
def results(far_hub: tuple[LocalHub, Setup], tmp_path_factory: pytest.TempPathFactory) -> Figures:
    hub, setup = far_hub
    setup = dataclasses.replace(setup, work=tmp_path_factory.mktemp("runs"), repeat=1)
    cold = bench_network.cold_first_use(hub, LINKS, setup, keras_style=True, torchvision_python=None)
    streams = bench_network.hub_streaming(hub, setup, (0.0,), (0,), with_one_file=True)
    return Figures(**cold, **streams)


def test_every_first_use_is_timed_and_counted_at_every_condition(results: Figures) -> None:
    for link in LINKS:
        uses = results.first_uses[bench_network.describe(link)]
        for name in ("image", "image_one_file", "pixels", "pixels_one_file", "keras_style"):
            assert uses[name].seconds > 0 and uses[name].requests > 0, (name, link)
        assert uses["keras_style"].requests == 4  # one GET an archive
        assert uses["keras_style"].connections == 4  # urlretrieve: a connection each
    assert results.datasets_import_seconds > 0


def test_a_split_of_16_files_or_more_is_fetched_over_parallel_connections(results: Figures) -> None:
    """Why the copy has 16 files a split: `datasets` downloads them through a thread pool (one file: one connection)."""
    assert min(fashion_mnist.NUM_SHARDS.values()) >= 16
    uses = results.first_uses[bench_network.describe(LINKS[0])]
    assert uses["image_one_file"].connections == 1
    assert uses["image"].connections > 1
    assert uses["image"].requests > uses["image_one_file"].requests


def test_hub_streams_are_measured_beside_local_files(results: Figures) -> None:
    rates, requests = results.hub_stream_rates["0 ms"], results.hub_stream_requests["0 ms"]
    for name in ("image", "pixels"):
        assert rates[f"{name}_hub_one_file_0w"] > 0 and rates[f"{name}_hub_0w"] > 0
        assert requests[f"{name}_hub_0w"] >= fashion_mnist.NUM_SHARDS["train"]  # a range a file
        expected = rates[f"{name}_hub_0w"] / results.local_stream_rates[f"{name}_0w"]
        assert results.hub_stream_ratios[f"{name}_0w"] == pytest.approx(expected)


def test_the_report_gives_every_target_a_verdict(results: Figures) -> None:
    text = bench_network.table(results)

    figures = {"network": results}
    targets = [key for key in report.TARGETS if key[0] == "network" and report.figure(figures, key) is not None]
    assert len(targets) == 2 * len(LINKS) + 2  # each config's cold ratio per link, each Hub stream at 0 ms
    for key in targets:
        assert report.verdict(key, report.figure(figures, key)) in text
    assert "| 0 ms, 100 Mbit/s shared by all connections | `pixels` |" in text


def test_every_condition_of_the_long_run_has_its_targets() -> None:
    """The report's table of targets names each link `--long` tries, and each Hub stream at 0 ms."""
    assert {bench_network.describe(link) for link in bench_network.COLD_LINKS["long"]} == set(report.LINKS)
    assert bench_network.describe(bench_network.AIM_LINK) == report.LINKS[0]  # the default run's, aimed at 0.8
    for workers in bench_network.STREAM_WORKERS["long"]:
        for name in ("image", "pixels"):
            assert ("network", "hub_stream_ratios", f"{name}_{workers}w") in report.TARGETS


def test_links_are_named_as_a_network_engineer_would() -> None:
    assert bench_network.describe(Link(0.1, bytes_per_second=12_500_000)) == "100 ms, 100 Mbit/s per connection"
    assert bench_network.describe(Link(0.05)) == "50 ms, no cap"


def test_without_the_archives_the_section_says_why_and_measures_nothing(bench_setup: Setup) -> None:
    setup = dataclasses.replace(bench_setup, archive_dir=None, unavailable={})
    section = next(section for section in benchmark.SECTIONS if section.name == "network")
    assert measured(section, setup)[0] is None
    assert "pass --data-dir" in setup.unavailable["network"]
