"""`load_dataset` of the local copy (the default config, both splits): into a fresh cache, and from a filled one."""

from __future__ import annotations

import dataclasses
import pathlib
import tempfile

import datasets

from benchmarks import report
from benchmarks.harness import Setup, interleaved_medians, seconds


@dataclasses.dataclass(frozen=True)
class LoadFigures:
    load_seconds_cold: float  # into a new cache: `datasets` converts the Parquet files again
    load_seconds_warm: float  # from the setup's filled cache


def measure(setup: Setup) -> LoadFigures:
    """Cold: a new cache each run, so `datasets` converts the Parquet files again. Warm: the setup's cache."""
    times = interleaved_medians(
        {
            "cold": lambda: load_seconds(setup.repo, pathlib.Path(tempfile.mkdtemp(prefix="cache-", dir=setup.work))),
            "warm": lambda: load_seconds(setup.repo, setup.warm_cache),
        },
        setup.repeat,
    )
    return LoadFigures(times["cold"], times["warm"])


def load_seconds(repo: pathlib.Path | str, cache_dir: pathlib.Path) -> float:
    """`load_dataset` of a local copy (a path) or a Hub repo (an id), both splits, into `cache_dir`."""
    return seconds(lambda: datasets.load_dataset(str(repo), cache_dir=str(cache_dir)))


def table(f: LoadFigures) -> str:
    return report.table(
        ("cache", "measured"),
        "lr",
        [
            report.row("cold: a new cache", report.seconds(f.load_seconds_cold)),
            report.row("warm: the cache filled", report.seconds(f.load_seconds_warm)),
        ],
    )
