"""benchmarks/copies.py: the copies the benchmark's sections read, made once from the synthetic archives."""

from __future__ import annotations

import pathlib
import re

import pyarrow as pa
import pyarrow.parquet as pq

import fashion_mnist
from benchmarks import copies as bench_copies
from benchmarks.harness import Setup
from scripts import layout
from tests.helpers import synthetic


def test_this_copy_has_the_files_the_build_writes(bench_setup: Setup) -> None:
    for split in fashion_mnist.SPLITS:
        for config in fashion_mnist.FEATURES:
            paths = bench_copies.shard_paths(bench_setup.repo, config, split)
            assert paths and all(re.fullmatch(rf"{split}-\d{{5}}-of-\d{{5}}\.parquet", path.name) for path in paths)
        assert bench_copies.num_rows(bench_setup.repo, split) == synthetic.SIZES[split]


def test_the_older_layout_holds_the_same_rows_in_one_file_per_split(bench_setup: Setup) -> None:
    for config in fashion_mnist.FEATURES:
        for split in fashion_mnist.SPLITS:
            (path,) = bench_copies.shard_paths(bench_setup.one_shard, config, split)
            older = pq.read_table(path)
            newer = pa.concat_tables(
                pq.read_table(p) for p in bench_copies.shard_paths(bench_setup.repo, config, split)
            )
            assert older.num_rows == synthetic.SIZES[split]
            assert older.select(newer.column_names).to_pylist() == newer.to_pylist()


def test_read_pngs_gives_every_image_of_a_split_in_order(bench_setup: Setup) -> None:
    pngs = bench_copies.read_pngs(bench_setup.repo, "test")
    assert len(pngs) == synthetic.SIZES["test"] and all(png.startswith(b"\x89PNG") for png in pngs)


def test_the_archives_are_found_where_the_builder_was_told_to_look(bench_setup: Setup, tmp_path: pathlib.Path) -> None:
    assert bench_setup.archive_dir == pathlib.Path(bench_setup.builder_kwargs["data_dir"])
    elsewhere = {**bench_setup.builder_kwargs, "data_dir": str(tmp_path)}
    assert bench_copies.local_archive_dir(elsewhere) is None


def test_parquet_bytes_count_one_config_only(bench_setup: Setup) -> None:
    image = bench_copies.parquet_bytes(bench_setup.repo, fashion_mnist.NAME)
    pixels = bench_copies.parquet_bytes(bench_setup.repo, fashion_mnist.PIXELS)
    on_disk = sum(path.stat().st_size for path in (bench_setup.repo / layout.DATA_DIR).rglob("*.parquet"))
    assert image > 0 and pixels > 0 and image + pixels == on_disk
