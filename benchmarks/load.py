"""`load_dataset` of the local copy (the default config, both splits): into a fresh cache, and from a filled one."""

import dataclasses
import pathlib
import tempfile

import datasets

from benchmarks import harness, report


@dataclasses.dataclass(frozen=True)
class LoadFigures:
    load_seconds_cold: float  # into a new cache each run: `datasets` converts the Parquet files again
    load_seconds_warm: float  # from the setup's filled cache


def measure(setup: harness.Setup) -> LoadFigures:
    runs = {
        "load_seconds_cold": lambda: load_seconds(setup.repo, tempfile.mkdtemp(prefix="cache-", dir=setup.work)),
        "load_seconds_warm": lambda: load_seconds(setup.repo, setup.warm_cache),
    }
    return LoadFigures(**harness.interleaved_medians(runs, setup.repeat))


def load_seconds(repo: pathlib.Path | str, cache_dir: pathlib.Path | str) -> float:
    return harness.seconds(lambda: datasets.load_dataset(str(repo), cache_dir=str(cache_dir)))


def table(f: LoadFigures) -> str:
    cells = [("cold: a new cache", f.load_seconds_cold), ("warm: the cache filled", f.load_seconds_warm)]
    return report.table(("cache", "measured"), "lr", [report.row(what, report.seconds(value)) for what, value in cells])
