"""Build the Hub copy of Fashion-MNIST: Parquet shards, preview, card and dataset_infos.json.

    python -m scripts.build --data-dir DIR     # from local archives only (offline)
    python -m scripts.build                    # from a system copy or the mirrors

The builder in `fashion_mnist.py` fetches and verifies the archives (each read once) and
encodes the PNGs; this module writes the examples it yields as Arrow tables built
straight from the arrays, cut into evenly sized shards in the layout `push_to_hub`
uses, with `--num-proc` processes, and writes the card, the infos and the shards'
checksums from the same facts. Everything is written into a `.build-*` work
directory first and committed only when complete, in a way a kill cannot leave half
done; one build at a time per repository (see `scripts/repo_lock.py`).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import copy
import dataclasses
import itertools
import json
import logging
import multiprocessing
import os
import pathlib
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datasets.arrow_writer import get_parquet_column_options
from datasets.utils.py_utils import asdict

import fashion_mnist
from scripts import card, layout, portable, preview, repo_lock

logger = logging.getLogger("build")


@dataclasses.dataclass(frozen=True)
class ShardRecord:
    """One written Parquet file, as the card, the infos, verify and the push use it."""

    path: str  # relative to the repo, e.g. data/train-00000-of-00008.parquet
    config: str
    split: str
    num_rows: int
    num_bytes: int
    sha256: str
    table_bytes: int  # the rows' size in Arrow memory, as `datasets` counts a split's `num_bytes`


@dataclasses.dataclass(frozen=True)
class BuildSummary:
    repo_dir: pathlib.Path
    shards: list[ShardRecord]
    served_by: dict[str, str]
    seconds: float

    def describe(self) -> str:
        """One paragraph for the terminal."""
        splits = {}
        for shard in self.shards:
            rows, files, size = splits.get((shard.config, shard.split), (0, 0, 0))
            splits[shard.config, shard.split] = (rows + shard.num_rows, files + 1, size + shard.num_bytes)
        parts = ", ".join(
            f"{config} {split} {rows:,} rows in {files} files ({size:,} bytes)"
            for (config, split), (rows, files, size) in splits.items()
        )
        total = sum(shard.num_bytes for shard in self.shards)
        sources = sorted(set(self.served_by.values()))
        return (
            f"Built the Hub copy in {self.repo_dir} in {self.seconds:.1f} s: {parts}; {total:,} bytes of "
            f"Parquet in all. Archives from: {'; '.join(sources)}. Wrote {layout.CARD}, {layout.INFOS}, "
            f"{layout.PREVIEW} and {layout.CHECKSUMS}. Next: `python -m scripts.verify --repo-dir {self.repo_dir}` "
            "before pushing."
        )


def download_manager(download_cache: str | None) -> datasets.DownloadManager:
    """Where verified downloads are cached: `download_cache`, else `datasets`' own downloads directory."""
    cache_dir = download_cache or datasets.config.DOWNLOADED_DATASETS_PATH
    return datasets.DownloadManager(download_config=datasets.DownloadConfig(cache_dir=cache_dir))


@dataclasses.dataclass(frozen=True)
class ShardTask:
    """One Parquet file to write: rows `start:stop` of `split`, in config `config`'s representation."""

    config: str
    split: str
    index: int
    count: int
    start: int
    stop: int

    @property
    def path(self) -> str:
        return layout.shard_path(self.config, self.split, self.index, self.count)


def shard_tasks(splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> list[ShardTask]:
    """Every file of the copy: each config, each split cut into `fashion_mnist.NUM_SHARDS[split]` even pieces.

    The image config's files come first: PNG encoding is most of the work, and a pool that
    starts on the long tasks finishes them together.
    """
    return [
        ShardTask(config, split, index, count, start, stop)
        for config in fashion_mnist.FEATURES
        for split, (images, _) in splits.items()
        for count in [fashion_mnist.NUM_SHARDS[split]]
        for index, (start, stop) in enumerate(fashion_mnist.shard_bounds(len(images), count))
    ]


def examples_table(config: str, images: np.ndarray, labels: np.ndarray) -> pa.Table:
    """The examples the builder yields for these images and labels in `config`, as one Arrow table.

    Built from the arrays in a few vectorised steps instead of `datasets`' per-example
    writer (784 Python ints a row for `pixels`); the same PNG encoder, the same values and
    the config's own Arrow schema, so the Parquet files are byte for byte what writing
    the builder's output gives (tests/scripts/test_build.py compares the two).
    """
    schema = portable.arrow_schema(fashion_mnist.FEATURES[config])
    label = pa.array(labels.astype(np.int64, copy=False))
    if config == fashion_mnist.PIXELS:
        column = pa.FixedSizeListArray.from_arrays(pa.array(images.reshape(-1)), fashion_mnist.NUM_PIXELS)
    else:
        pngs = pa.array(fashion_mnist.encode_png(images), pa.binary())
        column = pa.StructArray.from_arrays([pngs, pa.nulls(len(pngs), pa.string())], names=["bytes", "path"])
    return pa.Table.from_arrays([column, label], schema=schema)


def write_shard(task: ShardTask, images: np.ndarray, labels: np.ndarray, out_dir: pathlib.Path) -> ShardRecord:
    """Write one shard of `images`/`labels` (already cut to the task's rows) and describe it."""
    path = out_dir / task.path
    path.parent.mkdir(parents=True, exist_ok=True)
    table_bytes = write_parquet(examples_table(task.config, images, labels), fashion_mnist.FEATURES[task.config], path)
    size, digest = path.stat().st_size, layout.sha256_file(path)
    return ShardRecord(task.path, task.config, task.split, len(labels), size, digest, table_bytes)


_worker_splits: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # a pool worker's arrays (forked: shared, not copied)


def _keep_splits(splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    global _worker_splits
    _worker_splits = splits


def _write_task(task: ShardTask, out_dir: pathlib.Path) -> ShardRecord:
    images, labels = _worker_splits[task.split]
    return write_shard(task, images[task.start : task.stop], labels[task.start : task.stop], out_dir)


def _write_preview(out_dir: pathlib.Path) -> None:
    """The preview, from the train split's arrays, as a pool task."""
    write_preview(*_worker_splits["train"], out_dir / layout.PREVIEW)


def write_files(
    splits: dict[str, tuple[np.ndarray, np.ndarray]], out_dir: pathlib.Path, num_proc: int
) -> list[ShardRecord]:
    """Write every shard of every config and the preview into `out_dir` with `num_proc` processes.

    Returns the shards' records in `shard_tasks` order. Workers are forked where the
    platform can, so they read the parent's arrays in place; they die with the build even
    if it is SIGKILLed. The preview is one more task, so it costs no time of its own.
    """
    tasks = shard_tasks(splits)
    if num_proc <= 1:
        _keep_splits(splits)
        try:
            _write_preview(out_dir)
            return [_write_task(task, out_dir) for task in tasks]
        finally:
            _keep_splits({})  # the arrays go with the build
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with (
        fashion_mnist.children_die_with_this_process(),
        concurrent.futures.ProcessPoolExecutor(
            num_proc, mp_context=context, initializer=_keep_splits, initargs=(splits,)
        ) as pool,
    ):
        preview_done = pool.submit(_write_preview, out_dir)
        records = list(pool.map(_write_task, tasks, itertools.repeat(out_dir)))
        preview_done.result()
    return records


def write_parquet(table: pa.Table, features: datasets.Features, path: pathlib.Path) -> int:
    """Write `table` as `Dataset.to_parquet` does, but zstd-compressed, with the features in every version's spelling.

    The options of `to_parquet` (content-defined chunking, page index, per-column dictionary
    and PLAIN encodings) with `layout.COMPRESSION` for every column, in `layout.ROW_GROUP_SIZE`-row
    groups; the same rows give the same bytes. Only the schema's `huggingface` metadata differs,
    for `Sequence` features: see `scripts/portable.py`. Returns the rows' size in Arrow
    memory, summed over the groups as `datasets`' writer sums its batches (a split's `num_bytes`).
    """
    schema = portable.arrow_schema(features)
    chunking = datasets.config.DEFAULT_CDC_OPTIONS
    options = get_parquet_column_options(features, schema)
    options["compression"] = dict.fromkeys(options["compression"], layout.COMPRESSION)
    table_bytes = 0
    with pq.ParquetWriter(
        path, schema=schema, use_content_defined_chunking=chunking, write_page_index=True, **options
    ) as writer:
        for start in range(0, table.num_rows, layout.ROW_GROUP_SIZE):
            batch = table.slice(start, layout.ROW_GROUP_SIZE)
            writer.write_table(batch)
            table_bytes += batch.nbytes
        writer.add_key_value_metadata({"content_defined_chunking": json.dumps(chunking)})
    return table_bytes


def hub_info(builder_info: datasets.DatasetInfo, shards: Sequence[ShardRecord]) -> datasets.DatasetInfo:
    """The builder's info, describing the Hub copy: each split as its files hold it, and what a user downloads.

    It records no `download_checksums`: under `verification_mode="all_checks"`, datasets 2.x and
    3.x compare their keys with the URLs they downloaded (`hf://...@<commit>/...` from the Hub, an
    absolute path from a folder), which no name written at build time can match, and fail with
    `ExpectedMoreDownloadedFilesError`. The shards' sizes and hashes are in `layout.CHECKSUMS`.
    """
    info = copy.deepcopy(builder_info)
    info.splits = datasets.SplitDict(dataset_name=info.dataset_name)
    for split in fashion_mnist.SPLITS:
        files = [shard for shard in shards if shard.split == split]
        info.splits.add(
            datasets.SplitInfo(
                name=split,
                num_bytes=sum(shard.table_bytes for shard in files),
                num_examples=sum(shard.num_rows for shard in files),
                shard_lengths=[shard.num_rows for shard in files],
                dataset_name=info.dataset_name,
            )
        )
    info.download_checksums = None
    info.download_size = sum(shard.num_bytes for shard in shards)
    info.dataset_size = sum(split.num_bytes for split in info.splits.values())
    info.size_in_bytes = None
    return info


def checksums_json(shards: Sequence[ShardRecord]) -> str:
    """`layout.CHECKSUMS`: each shard's size and SHA-256, by repo path; what verify holds the files to."""
    records = {shard.path: {"num_bytes": shard.num_bytes, "sha256": shard.sha256} for shard in shards}
    return json.dumps(dict(sorted(records.items())), indent=2) + "\n"


def infos_json(infos: dict[str, datasets.DatasetInfo]) -> str:
    """`dataset_infos.json`: one entry per config, keyed by the card's config names; all the metadata datasets reads.

    Every datasets version from 2.x to 5.x reads it for a data-only repo, from the Hub or a
    local folder, and gives each config's entry to that config: description, citation,
    homepage, license, supervised keys, features and split sizes. Two rules keep it live:
    the card has no YAML `dataset_info` (its entries would replace these whole), and there
    is more than one entry (datasets renames a lone entry to `default`, which names no
    config of the card). Features are spelled as every version reads them, in the
    builder's order (keys are sorted elsewhere for stable diffs).
    """
    entries = {}
    for name, info in infos.items():
        entry = asdict(info)
        entry["features"] = portable.features_dict(info.features)
        entries[name] = {key: entry[key] for key in sorted(entry)}
    if len(entries) < 2:
        raise ValueError(f"{layout.INFOS} needs two or more configs; datasets renames a lone entry to 'default'")
    return json.dumps(entries, indent=2) + "\n"


def build_repo(
    repo_dir: str | os.PathLike = layout.PROJECT_ROOT,
    *,
    num_proc: int = 2,
    repo_id: str = layout.REPO_ID,
    download_cache: str | None = None,
    template: str | os.PathLike | None = None,
    **builder_kwargs,
) -> BuildSummary:
    """Build shards, preview, card and infos into `repo_dir`; the old copy stays until all is ready.

    `builder_kwargs` go to `FashionMnist` (`data_dir`, `fallback_to_mirrors`, `mirrors`, `system_dirs`,
    `archives`, timeouts). Raises `repo_lock.RepoBusyError` if another build holds `repo_dir`.
    """
    started = time.perf_counter()
    repo_dir = pathlib.Path(repo_dir).resolve()
    repo_dir.mkdir(parents=True, exist_ok=True)
    with repo_lock.building(repo_dir):  # also finishes or removes what a killed build left
        return _build_locked(
            repo_dir,
            num_proc=num_proc,
            repo_id=repo_id,
            download_cache=download_cache,
            template=template,
            started=started,
            builder_kwargs=builder_kwargs,
        )


def _build_locked(
    repo_dir: pathlib.Path,
    *,
    num_proc: int,
    repo_id: str,
    download_cache: str | None,
    template: str | os.PathLike | None,
    started: float,
    builder_kwargs: dict,
) -> BuildSummary:
    card_path = repo_dir / layout.CARD
    template_text = pathlib.Path(
        template or (card_path if card_path.exists() else layout.PROJECT_ROOT / layout.CARD)
    ).read_text(encoding="utf-8")
    work_dir = pathlib.Path(tempfile.mkdtemp(prefix=repo_lock.WORK_PREFIX, dir=repo_dir))
    try:
        staged = work_dir / repo_lock.STAGED
        builders = {
            config: fashion_mnist.FashionMnist(config_name=config, cache_dir=str(work_dir / "cache"), **builder_kwargs)
            for config in fashion_mnist.FEATURES
        }
        default = builders[fashion_mnist.NAME]
        splits = default.verified_splits(download_manager(download_cache))  # each archive read and checked once
        shards = write_files(splits, staged, num_proc)
        infos = {
            config: hub_info(builder.info, [shard for shard in shards if shard.config == config])
            for config, builder in builders.items()
        }
        labels = {split: split_labels for split, (_, split_labels) in splits.items()}
        facts = card.CardFacts(infos, label_counts(labels), repo_id, parquet_bytes(shards))
        (staged / layout.CHECKSUMS).write_text(checksums_json(shards), encoding="utf-8")
        (staged / layout.INFOS).write_text(infos_json(infos), encoding="utf-8")
        (staged / layout.CARD).write_text(card.render_card(template_text, facts), encoding="utf-8")
        repo_lock.commit(repo_dir, work_dir)
    finally:
        if not (work_dir / repo_lock.JOURNAL).exists():  # a journalled commit is finished by the next reader
            shutil.rmtree(work_dir, ignore_errors=True)
    return BuildSummary(repo_dir, shards, default.served_by, time.perf_counter() - started)


def label_counts(labels: dict[str, np.ndarray]) -> dict[str, list[int]]:
    """split -> examples per class."""
    return {
        split: np.bincount(values, minlength=len(fashion_mnist.LABEL_NAMES)).tolist()
        for split, values in labels.items()
    }


def parquet_bytes(shards: Sequence[ShardRecord]) -> dict[str, dict[str, int]]:
    """config -> split -> bytes of its Parquet files."""
    totals: dict[str, dict[str, int]] = {}
    for shard in shards:
        split_totals = totals.setdefault(shard.config, {})
        split_totals[shard.split] = split_totals.get(shard.split, 0) + shard.num_bytes
    return totals


def write_preview(images: np.ndarray, labels: np.ndarray, path: pathlib.Path) -> None:
    """Render the sprite from the first examples of each class of the train split.

    From the archives' pixels, which the shards' PNGs decode to exactly (verify renders it
    again from the shards and compares). PIL's default compression: `optimize=True` took four
    times as long for a file 1% smaller.
    """
    sprite = preview.sprite_of(labels, lambda indices: images[indices], fashion_mnist.LABEL_NAMES)
    path.parent.mkdir(parents=True, exist_ok=True)
    sprite.save(path, format="PNG")


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """`--data-dir`, `--fallback-to-mirrors` and `--mirror`: where the builder takes the archives from."""
    parser.add_argument(
        "--data-dir",
        help="directory holding the four original .gz archives; the only source unless --fallback-to-mirrors "
        "(default: a system copy, then the mirrors)",
    )
    parser.add_argument(
        "--fallback-to-mirrors",
        action="store_true",
        help="with --data-dir: for an archive missing or bad there, try the system copies and the mirrors",
    )
    parser.add_argument(
        "--mirror", action="append", dest="mirrors", metavar="URL", help="base URL instead of the built-in mirrors"
    )


def source_kwargs(args: argparse.Namespace) -> dict[str, object]:
    """The `FashionMnist` keyword arguments that `add_source_arguments` collected."""
    return {"data_dir": args.data_dir, "fallback_to_mirrors": args.fallback_to_mirrors} | (
        {"mirrors": args.mirrors} if args.mirrors else {}
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_source_arguments(parser)
    parser.add_argument(
        "--repo-dir", default=str(layout.PROJECT_ROOT), help="where to write the Hub copy (default: this repository)"
    )
    parser.add_argument("--repo-id", default=layout.REPO_ID, help="Hub repo id shown in the card's examples")
    parser.add_argument("--num-proc", type=int, default=min(2, os.cpu_count() or 1), help="processes encoding images")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        summary = build_repo(args.repo_dir, num_proc=args.num_proc, repo_id=args.repo_id, **source_kwargs(args))
    except (fashion_mnist.FashionMnistError, fashion_mnist.NoValidSourceError, repo_lock.RepoBusyError) as error:
        print(f"build failed, nothing was changed in {args.repo_dir}:\n{error}", file=sys.stderr)
        return 1
    print(summary.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
