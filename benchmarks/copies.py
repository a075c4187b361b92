"""The copies every benchmark section reads, made once per run (`prepare`), and how the sections read them."""

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


def prepare(work: pathlib.Path, builder_kwargs: Mapping[str, Any], *, repeat: int, long: bool) -> Setup:
    """This copy (2 processes), its rows in the older layout, a `datasets` cache filled with both configs and a local
    copy of the archives for the raw loaders, if there is one; in `work`, a scratch directory the caller removes."""
    logging.getLogger("benchmark").info("building the copy the other measurements read")
    built = build.build_repo(work / "repo", num_proc=2, **builder_kwargs)
    warm_cache = work / "hf-cache"
    one_shard = write_one_shard_copy(built.repo_dir, work / "one-shard", warm_cache)
    for config in fashion_mnist.FEATURES:  # the sections time loads from a filled cache
        datasets.load_dataset(str(built.repo_dir), config, cache_dir=str(warm_cache))
    archive_dir = local_archive_dir(builder_kwargs)
    return Setup(
        work=work,
        repeat=repeat,
        builder_kwargs=builder_kwargs,
        repo=built.repo_dir,
        one_shard=one_shard,
        warm_cache=warm_cache,
        archive_dir=archive_dir,
        unavailable={} if archive_dir else {"keras_floor_seconds": "no local copy of the archives (pass --data-dir)"},
        long=long,
        build_seconds=built.seconds,
    )


def write_one_shard_copy(repo: pathlib.Path, target: pathlib.Path, cache_dir: pathlib.Path) -> pathlib.Path:
    """The same rows, one Parquet file per split (`Dataset.to_parquet`'s default); the card's globs still match."""
    for config, split in itertools.product(fashion_mnist.FEATURES, fashion_mnist.SPLITS):
        files = [str(path) for path in shard_paths(repo, config, split)]
        path = target / layout.shard_path(config, split, 0, 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        datasets.Dataset.from_parquet(files, cache_dir=str(cache_dir)).to_parquet(str(path))
    shutil.copy(repo / layout.CARD, target / layout.CARD)
    return target


def local_archive_dir(builder_kwargs: Mapping[str, Any]) -> pathlib.Path | None:
    """Where the raw loaders can read the archives: `data_dir`, else a system copy; None if only mirrors have them."""
    archives = builder_kwargs.get("archives", fashion_mnist.ARCHIVES)
    candidates = [builder_kwargs.get("data_dir"), *builder_kwargs.get("system_dirs", fashion_mnist.SYSTEM_DIRS)]
    paths = [pathlib.Path(directory).expanduser() for directory in candidates if directory]
    return next((path for path in paths if all((path / archive.filename).is_file() for archive in archives)), None)


def shard_paths(repo: pathlib.Path, config: str, split: str) -> list[pathlib.Path]:
    return sorted((repo / layout.CONFIG_DIRS[config]).glob(f"{split}-*.parquet"))


def read_pngs(repo: pathlib.Path, split: str) -> list[bytes]:
    """A split's PNG bytes in order, straight from the default config's Parquet files."""
    paths = [str(path) for path in shard_paths(repo, fashion_mnist.NAME, split)]
    return pc.struct_field(pq.read_table(paths, columns=["image"]).column("image"), "bytes").to_pylist()


def num_rows(repo: pathlib.Path, split: str) -> int:
    return sum(pq.ParquetFile(path).metadata.num_rows for path in shard_paths(repo, fashion_mnist.NAME, split))


def parquet_bytes(repo: pathlib.Path, config: str) -> int:
    return sum(path.stat().st_size for path in (repo / layout.CONFIG_DIRS[config]).glob("*.parquet"))
