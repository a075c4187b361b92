"""The copies every benchmark section reads, made once per run, and how the sections read them.

`prepare` builds this copy (2 processes), writes the same rows in the older one-file-per-split
layout, fills a `datasets` cache with both configs and finds a local copy of the archives for
the raw loaders. The readers below take a split's rows straight from the Parquet files.
"""

from __future__ import annotations

import itertools
import logging
import pathlib
import shutil
from collections.abc import Mapping
from typing import Any

import datasets
import pyarrow.compute as pc
import pyarrow.parquet as pq

import fashion_mnist
from benchmarks.harness import Setup
from scripts import build, layout

logger = logging.getLogger("benchmark")


def prepare(work: pathlib.Path, builder_kwargs: Mapping[str, Any], *, repeat: int, long: bool) -> Setup:
    """The copies the sections read, in `work` (a scratch directory the caller removes)."""
    logger.info("building the copy the other measurements read")
    built = build.build_repo(work / "repo", num_proc=2, **builder_kwargs)
    repo = built.repo_dir
    warm_cache = work / "hf-cache"
    setup = Setup(
        work=work,
        repeat=repeat,
        builder_kwargs=builder_kwargs,
        repo=repo,
        one_shard=write_one_shard_copy(repo, work / "one-shard", warm_cache),
        warm_cache=warm_cache,
        archive_dir=local_archive_dir(builder_kwargs),
        unavailable={},
        long=long,
        build_seconds=built.seconds,
    )
    for config in fashion_mnist.FEATURES:  # the sections time loads from a filled cache
        datasets.load_dataset(str(repo), config, cache_dir=str(warm_cache))
    if setup.archive_dir is None:
        setup.unavailable["keras_floor_seconds"] = "no local copy of the archives (pass --data-dir)"
    return setup


def write_one_shard_copy(repo: pathlib.Path, target: pathlib.Path, cache_dir: pathlib.Path) -> pathlib.Path:
    """The older layout from the same rows: one Parquet file per split, as `Dataset.to_parquet` writes by default.

    The card is copied unchanged: its `configs` globs (`data/{split}-*`) match the new names.
    """
    for config, split in itertools.product(fashion_mnist.FEATURES, fashion_mnist.SPLITS):
        files = [str(path) for path in shard_paths(repo, config, split)]
        rows = datasets.Dataset.from_parquet(files, cache_dir=str(cache_dir))
        path = target / layout.shard_path(config, split, 0, 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        rows.to_parquet(str(path))
    shutil.copy(repo / layout.CARD, target / layout.CARD)
    return target


def local_archive_dir(builder_kwargs: Mapping[str, Any]) -> pathlib.Path | None:
    """Where the raw loaders can read the archives: `data_dir`, else a system copy; None if only mirrors have them."""
    archives = builder_kwargs.get("archives", fashion_mnist.ARCHIVES)
    candidates = [builder_kwargs.get("data_dir"), *builder_kwargs.get("system_dirs", fashion_mnist.SYSTEM_DIRS)]
    for directory in filter(None, candidates):
        path = pathlib.Path(directory).expanduser()
        if all((path / archive.filename).is_file() for archive in archives):
            return path
    return None


# --- Reading a copy ----------------------------------------------------------------------


def shard_paths(repo: pathlib.Path, config: str, split: str) -> list[pathlib.Path]:
    """A split's Parquet files in order, however many the build wrote."""
    return sorted((repo / layout.CONFIG_DIRS[config]).glob(f"{split}-*.parquet"))


def read_pngs(repo: pathlib.Path, split: str) -> list[bytes]:
    """The PNG bytes of a split, in order, straight from the default config's Parquet files."""
    pngs = []
    for path in shard_paths(repo, fashion_mnist.NAME, split):
        column = pq.read_table(path, columns=["image"]).column("image")
        pngs += pc.struct_field(column, "bytes").to_pylist()
    return pngs


def num_rows(repo: pathlib.Path, split: str) -> int:
    return sum(pq.ParquetFile(path).metadata.num_rows for path in shard_paths(repo, fashion_mnist.NAME, split))


def parquet_bytes(repo: pathlib.Path, config: str) -> int:
    return sum(path.stat().st_size for path in (repo / layout.CONFIG_DIRS[config]).glob("*.parquet"))
