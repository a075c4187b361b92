"""What every benchmark section runs in: its `Setup`, the clocks, interleaved medians and fresh processes."""

import concurrent.futures
import contextlib
import dataclasses
import importlib.metadata
import json
import multiprocessing
import os
import pathlib
import platform
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, Self, TypeVar

import datasets
import torch

import fashion_mnist
from scripts import layout

Figures = TypeVar("Figures")  # a section's frozen dataclass of figures

TIMEOUT = 1800  # seconds before a child program counts as hung: far above any run seen (the epochs' loops)
VERSIONS_OF = ("datasets", "huggingface_hub", "pyarrow", "pillow", "numpy", "torch", "keras")


@dataclasses.dataclass(frozen=True)
class Setup:
    """What the sections share: the scratch directory, the copies made once, where the archives are."""

    work: pathlib.Path  # scratch directory, removed by the caller
    repeat: int  # runs per figure, the median kept
    builder_kwargs: Mapping[str, Any]  # for `build.build_repo`: data_dir, mirrors, system_dirs, archives
    repo: pathlib.Path  # this copy, built once with 2 processes
    one_shard: pathlib.Path  # the same rows in the older layout, one Parquet file per split
    warm_cache: pathlib.Path  # a `datasets` cache that holds both configs of `repo`
    archive_dir: pathlib.Path | None  # a local copy of the archives for the raw loaders, if there is one
    unavailable: dict[str, str]  # figure -> why it could not be measured
    long: bool = False  # `--long`: also the rows no target depends on
    build_seconds: float | None = None  # the 2-process build that made `repo`: the build section's first run
    torchvision_python: pathlib.Path | None = None  # an environment's python holding torchvision (the peer)

    @property
    def archives(self) -> Sequence[fashion_mnist.Archive]:
        return self.builder_kwargs.get("archives", fashion_mnist.ARCHIVES)


@dataclasses.dataclass(frozen=True)
class Section(Generic[Figures]):
    """A part of the benchmark: `measure` gives its figures (or raises `Unavailable`), `table` the report's."""

    name: str
    measure: Callable[[Setup], Figures | None]
    table: Callable[[Figures], str]  # Markdown for `benchmarks/RESULTS.md`
    fresh_process: bool = False  # measured in a new interpreter, as a training script starts (`in_fresh_process`)


class Unavailable(Exception):
    """Why a section has nothing to measure here: `measured` puts it in `setup.unavailable` under the section's name."""


@dataclasses.dataclass(frozen=True)
class SectionTime:
    """What measuring a section took: wall and CPU seconds (with its children), and the other processes' load."""

    seconds: float
    cpu_seconds: float
    background_cores: float | None  # on a shared 2-core machine, whether a scaling figure means anything


def seconds(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def interleaved_medians(
    runs: Mapping[str, Callable[[], float]], repeat: int, taken: Mapping[str, Sequence[float]] | None = None
) -> dict[str, float]:
    """Median of each run's seconds, the runs taking turns (a, b, a, b, ...) so background load hits all alike;
    `taken`: seconds of runs already done just before, which count as their first rounds."""
    samples: dict[str, list[float]] = {name: list((taken or {}).get(name, ())) for name in runs}
    for round_ in range(repeat):
        for name, run in runs.items():
            if len(samples[name]) <= round_:
                samples[name].append(run())
    return {name: statistics.median(values) for name, values in samples.items()}


@dataclasses.dataclass(frozen=True)
class CpuClock:
    """CPU seconds so far of the whole machine, and of this process and its finished children: from two readings,
    how many cores other processes kept busy."""

    wall: float
    machine_busy: float | None  # all cores since boot, from /proc/stat; None where there is none (not Linux)
    own: float

    @classmethod
    def read(cls) -> Self:
        usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        try:
            with open("/proc/stat", encoding="ascii") as file:
                user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, file.readline().split()[1:9])
            machine_busy = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
        except OSError:
            machine_busy = None
        return cls(time.perf_counter(), machine_busy, sum(u.ru_utime + u.ru_stime for u in usage))

    def since(self, start: Self) -> SectionTime:
        wall, own = self.wall - start.wall, self.own - start.own
        if self.machine_busy is None or start.machine_busy is None:
            return SectionTime(wall, own, None)
        return SectionTime(wall, own, max(0.0, (self.machine_busy - start.machine_busy - own) / wall))


def measured(section: Section[Figures], setup: Setup) -> tuple[Figures | None, SectionTime]:
    """Run one section: its figures (None if it had nothing to measure in this run), and what it took."""
    start = CpuClock.read()
    try:
        figures = in_fresh_process(section.measure, setup) if section.fresh_process else section.measure(setup)
    except Unavailable as reason:
        setup.unavailable[section.name] = str(reason)
        figures = None
    return figures, CpuClock.read().since(start)


def epoch_seconds(batches: Iterable[tuple[torch.Tensor, torch.Tensor]], num_examples: int) -> float:
    """One pass of model inputs; fails unless it gives every example once, as float pixels in [0, 1]."""
    start = time.perf_counter()
    seen = 0
    for x, y in batches:
        if x.dtype != torch.float32 or x.shape[1:] != (1, *fashion_mnist.IMAGE_SHAPE) or len(x) != len(y):
            raise RuntimeError(f"a batch of {tuple(x.shape)} {x.dtype} for {len(y)} labels is not model input")
        seen += len(y)
    elapsed = time.perf_counter() - start
    if seen != num_examples:
        raise RuntimeError(f"an epoch gave {seen} examples, expected {num_examples}")
    return elapsed


def in_fresh_process(measure: Callable[[Setup], Figures], setup: Setup) -> Figures:
    """Run `measure(setup)` in a new interpreter, the way a training script starts: DataLoader workers forked from
    this process, its heap grown by the build and decode sections, ran up to a third slower (copy-on-write)."""
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=1, mp_context=spawn, initializer=_prepare_child, initargs=(multiprocessing.get_start_method(),)
    ) as pool:
        return pool.submit(measure, setup).result()


class ChildFailed(RuntimeError):
    """A child program of the benchmark exited with an error; the message ends with the end of its stderr."""


def run_json(command: Sequence[str], env: Mapping[str, str], timeout: float = TIMEOUT, cwd: str | None = None) -> Any:
    """Run a child program (a fresh process, as a new notebook or job starts) and read the JSON of its last line. Its
    environment: `env` less PYTHON* (`command[0]` may be another environment's python), the checkout on PYTHONPATH."""
    environment = {key: value for key, value in env.items() if not key.startswith("PYTHON")}
    environment["PYTHONPATH"] = str(layout.PROJECT_ROOT)  # a child program imports the benchmark and recipes from here
    done = subprocess.run(list(command), env=environment, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise ChildFailed(f"{' '.join(command[1:3])} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _prepare_child(start_method: str) -> None:
    """A spawned child defaults to spawning too: give it the start method a script run from a shell has."""
    multiprocessing.set_start_method(start_method, force=True)
    quiet_datasets()


def quiet_datasets() -> None:
    """No progress bars or per-worker warnings in the middle of the report."""
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()


def machine() -> dict[str, Any]:
    """What the figures were taken on: cores, Python and the versions of the libraries involved."""
    versions: dict[str, str | None] = dict.fromkeys(VERSIONS_OF)
    for name in VERSIONS_OF:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "versions": versions,
    }
