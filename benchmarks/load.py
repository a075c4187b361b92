"""`load_dataset` of the local copy (the default config, both splits): into a fresh cache, and from a filled one."""

from __future__ import annotations

import pathlib
import tempfile
from collections.abc import Mapping
from typing import Any

import datasets

from benchmarks import report
from benchmarks.harness import Figures, Setup, interleaved_medians, seconds


def measure(setup: Setup) -> Figures:
    """Cold: a new cache each run, so `datasets` converts the Parquet files again. Warm: the setup's cache."""
    times = interleaved_medians(
        {
            "cold": lambda: load_seconds(setup.repo, pathlib.Path(tempfile.mkdtemp(prefix="cache-", dir=setup.work))),
            "warm": lambda: load_seconds(setup.repo, setup.warm_cache),
        },
        setup.repeat,
    )
    return {"load_seconds_cold": times["cold"], "load_seconds_warm": times["warm"]}


def load_seconds(repo: pathlib.Path | str, cache_dir: pathlib.Path) -> float:
    """`load_dataset` of a local copy (a path) or a Hub repo (an id), both splits, into `cache_dir`."""
    return seconds(lambda: datasets.load_dataset(str(repo), cache_dir=str(cache_dir)))


def table(r: Mapping[str, Any]) -> str:
    return report.table(
        ("cache", "measured"),
        "lr",
        [
            report.row("cold: a new cache", report.seconds(r["load_seconds_cold"])),
            report.row("warm: the cache filled", report.seconds(r["load_seconds_warm"])),
        ],
    )
