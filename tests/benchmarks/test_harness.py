"""benchmarks/harness.py: interleaved medians, the clocks a section is measured with, the fresh interpreter."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import sys
import time

import pytest
import torch

from benchmarks import harness as bench_harness
from benchmarks.harness import Section, Setup
from scripts import layout


def setup_of(repeat: int, long: bool) -> Setup:
    path = pathlib.Path("unused")
    return Setup(path, repeat, {}, path, path, path, None, {}, long)


def test_interleaved_medians_take_turns_and_keep_the_median() -> None:
    calls: list[str] = []
    samples = {"a": iter([3.0, 1.0, 2.0]), "b": iter([10.0, 30.0, 20.0])}

    def run(name: str) -> float:
        calls.append(name)
        return next(samples[name])

    medians = bench_harness.interleaved_medians({name: lambda name=name: run(name) for name in samples}, 3)
    assert calls == ["a", "b", "a", "b", "a", "b"]
    assert medians == {"a": 2.0, "b": 20.0}


def test_runs_already_taken_count_as_the_first_rounds() -> None:
    calls: list[str] = []
    samples = {"a": iter([3.0, 1.0, 2.0]), "b": iter([30.0, 20.0])}

    def run(name: str) -> float:
        calls.append(name)
        return next(samples[name])

    runs = {name: lambda name=name: run(name) for name in samples}
    medians = bench_harness.interleaved_medians(runs, 3, taken={"b": [10.0]})
    assert calls == ["a", "a", "b", "a", "b"]
    assert medians == {"a": 2.0, "b": 20.0}


def busy(_: Setup) -> dict[str, float]:
    start = time.process_time()
    while time.process_time() - start < 0.2:
        pass
    return {"figure": 1.0}


def test_measured_gives_the_figures_and_the_section_wall_and_cpu_seconds() -> None:
    figures, took = bench_harness.measured(Section("busy", busy, str), setup_of(1, long=False))
    assert figures == {"figure": 1.0}
    assert took.cpu_seconds >= 0.2
    assert took.seconds >= 0.2 * 0.5  # the wall clock of a busy loop; CPU can run ahead of it


def test_a_section_with_nothing_to_measure_gives_none() -> None:
    figures, took = bench_harness.measured(Section("idle", lambda _: None, str), setup_of(1, long=False))
    assert figures is None and took.seconds >= 0


def nothing_here(_: Setup) -> None:
    raise bench_harness.Unavailable("no tool here")


@pytest.mark.parametrize("fresh_process", [False, True])
def test_a_section_that_cannot_measure_says_why_under_its_name(fresh_process: bool) -> None:
    setup = setup_of(1, long=False)
    figures, _ = bench_harness.measured(Section("idle", nothing_here, str, fresh_process), setup)
    assert figures is None and setup.unavailable == {"idle": "no tool here"}


def pid_and_repeat(setup: Setup) -> dict[str, float]:
    return {"pid": float(os.getpid()), "repeat": float(setup.repeat)}


def test_in_fresh_process_runs_the_section_in_another_interpreter() -> None:
    figures = bench_harness.in_fresh_process(pid_and_repeat, setup_of(4, long=True))
    assert figures["pid"] != os.getpid() and figures["repeat"] == 4.0


def batches(count: int, dtype: torch.dtype = torch.float32) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(torch.zeros(2, 1, 28, 28, dtype=dtype), torch.zeros(2, dtype=torch.int64)) for _ in range(count)]


def test_epoch_seconds_times_a_whole_epoch_of_model_inputs() -> None:
    assert bench_harness.epoch_seconds(batches(3), 6) >= 0


@pytest.mark.parametrize(
    ("given", "message"),
    [(batches(2), "an epoch gave 4 examples, expected 6"), (batches(3, torch.uint8), "is not model input")],
)
def test_epoch_seconds_refuses_an_epoch_that_is_not_one(given: list, message: str) -> None:
    with pytest.raises(RuntimeError, match=message):
        bench_harness.epoch_seconds(given, 6)


def test_machine_names_the_cores_and_versions() -> None:
    info = bench_harness.machine()
    assert info["usable_cores"] >= 1 and info["versions"]["datasets"] and info["versions"]["torch"]


def test_setup_fields_the_sections_share() -> None:
    names = [field.name for field in dataclasses.fields(Setup)]
    assert names == [
        "work", "repeat", "builder_kwargs", "repo", "one_shard", "warm_cache", "archive_dir", "unavailable", "long",
        "build_seconds", "torchvision_python",
    ]  # fmt: skip


def test_run_json_reads_a_childs_last_line_and_a_failure_says_why() -> None:
    assert bench_harness.run_json([sys.executable, "-c", "print('x'); print('[1, 2]')"], os.environ, 60) == [1, 2]
    path = "import json, os; print(json.dumps(os.environ['PYTHONPATH']))"  # the checkout, whatever this one has
    assert bench_harness.run_json([sys.executable, "-c", path], {"PYTHONPATH": "elsewhere"}) == str(layout.PROJECT_ROOT)
    with pytest.raises(bench_harness.ChildFailed, match="boom"):
        bench_harness.run_json([sys.executable, "-c", "import sys; sys.exit('boom')"], os.environ, 60)
