"""benchmarks/epochs.py: the figures and tables from the program's seconds; and, under `make compat`, the program
itself (`benchmarks/epoch_runs.py`) with the real torchvision in its environment, on the synthetic copy."""

from __future__ import annotations

import dataclasses
import pathlib

import pytest

import fashion_mnist
from benchmarks import epochs, headline, report
from benchmarks import run as benchmark
from benchmarks.harness import Setup, measured
from tests.helpers import compat_envs

TARGETS = [key for key in report.TARGETS if key[0] == "epochs"]
VERSIONS = {"torchvision": "0.29.1", "torch": "2.14.1", "datasets": "5.2.0"}
DEFAULT_RUN = {"torchvision_2w": 2.0, "pixels_plain": 1.0, "pixels_card": 0.1, "image_plain": 3.0, "image_card": 1.8,
               "pixels_2w": 1.0, "image_1w": 6.0, "image_2w": 4.0, "decode_pil": 2.5, "decode_zlib": 0.9}  # fmt: skip


def test_each_loop_and_stream_is_set_against_torchvisions_epoch() -> None:
    f = epochs.figures(DEFAULT_RUN, 1000, 8, VERSIONS, 3)
    assert f.torchvision_seconds == 2.0 and "torchvision_2w" not in f.epoch_seconds
    assert f.epoch_ratios == {"pixels_plain": 0.5, "pixels_card": 0.05, "image_plain": 1.5, "image_card": 0.9}
    assert f.stream_rates["image_2w"] == 250.0 and f.stream_seconds["image_1w"] == 6.0
    assert f.stream_ratios == {"pixels_2w": 0.5, "image_1w": 3.0, "image_2w": 2.0}
    assert f.stream_scaling == {"image": 1.5}
    assert f.decode_seconds == {"decode_pil": 2.5, "decode_zlib": 0.9}


def test_the_tables_give_every_target_a_verdict_and_leave_out_the_rows_not_taken() -> None:
    f = epochs.figures(DEFAULT_RUN, 1000, 8, VERSIONS, 3)
    text = epochs.table(f)
    for key in TARGETS:
        assert report.verdict(key, report.figure({"epochs": f}, key)) in text
    assert "| 0.50 | ≤ 0.5: met |" in text and "| 1.50 | ≤ 1.2: **missed** |" in text
    assert "| `pixels`, the card's stream |  |  | 1,000 |  |  | 0.50 | ≤ 1.5: met |" in text
    assert "no workers" not in text and "older layout" not in text
    assert text.startswith("torchvision 0.29.1, torch 2.14.1, datasets 5.2.0; the median of 3 runs")


def test_the_card_gets_both_torchvision_rows() -> None:
    rows = [row for row in headline.BENCHMARK_ROWS if row.theirs == headline.TORCHVISION_EPOCH]
    text = headline.table({"epochs": epochs.figures(DEFAULT_RUN, 1000, 8, VERSIONS, 3)}, rows)
    assert len(rows) == 2 and len(text.splitlines()) == 2 + len(rows)  # a header, a rule and each row
    assert "| 0.05 |" in text and "| 0.90 |" in text and "target" not in text


def test_without_torchvisions_environment_the_section_says_why(bench_setup: Setup) -> None:
    setup = dataclasses.replace(bench_setup, torchvision_python=None, unavailable={})
    section = next(section for section in benchmark.SECTIONS if section.name == "epochs")
    assert measured(section, setup)[0] is None
    assert "--torchvision-python" in setup.unavailable["epochs"]


@pytest.mark.compat
def test_the_program_times_every_loop_with_the_real_torchvision(bench_setup: Setup) -> None:
    """The long run's every loop and stream, each epoch checked (every example once, model inputs) as it is timed."""
    python = compat_envs.ensure_env("vision", compat_envs.CLIENTS["vision"])
    work = bench_setup.work / "epochs-compat"
    work.mkdir()
    setup = dataclasses.replace(bench_setup, torchvision_python=python, work=pathlib.Path(work), unavailable={})
    f = epochs.measure(setup)
    assert f.versions["torchvision"].startswith("0.29.1") and f.train_files == fashion_mnist.NUM_SHARDS["train"]
    assert set(f.epoch_seconds) == {*epochs.ROWS, "torchvision_0w"}
    assert set(f.stream_seconds) == {f"{name}_{n}w" for name in epochs.STREAMS for n in epochs.WORKER_COUNTS}
    assert all(report.figure({"epochs": f}, key) > 0 for key in TARGETS)
    assert (work / "epochs" / "torchvision" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").is_file()
