"""Build the Hub copy of Fashion-MNIST: Parquet shards, preview, card and dataset_infos.json.

    python scripts/build.py --data-dir DIR     # from local archives only (offline)
    python scripts/build.py                    # from a system copy or the mirrors

The builder in `fashion_mnist.py` fetches, verifies and encodes; this module cuts its
output into evenly sized shards in the layout `push_to_hub` uses, and writes the
card and infos from the same facts. Everything is written into a `.build-*` work
directory first and committed only when complete, in a way a kill cannot leave half
done; one build at a time per repository (see `scripts/repo_lock.py`).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import os
import pathlib
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence

if __package__ in (None, ""):  # run as `python scripts/build.py`
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import datasets
import numpy as np
import pyarrow.parquet as pq
from datasets.arrow_writer import get_parquet_column_options
from datasets.utils.py_utils import asdict

import fashion_mnist
from scripts import card, layout, portable, preview, repo_lock

DEFAULT_REPO_ID = "org/fashion_mnist"
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
            f"Parquet in all. Archives from: {'; '.join(sources)}. Wrote {layout.CARD}, {layout.INFOS} and "
            f"{layout.PREVIEW}. Next: `python scripts/verify.py --repo-dir {self.repo_dir}` before pushing."
        )


def prepare(
    work_dir: pathlib.Path, config: str, num_proc: int, download_cache: str | None, **builder_kwargs
) -> fashion_mnist.FashionMnist:
    """Run the builder's `config` (fetch, verify, encode) into a scratch cache under `work_dir`."""
    builder = fashion_mnist.FashionMnist(config_name=config, cache_dir=str(work_dir / "cache"), **builder_kwargs)
    download_config = datasets.DownloadConfig(cache_dir=download_cache or datasets.config.DOWNLOADED_DATASETS_PATH)
    builder.download_and_prepare(num_proc=num_proc if num_proc > 1 else None, download_config=download_config)
    return builder


def write_shards(
    dataset: datasets.Dataset, config: str, split: str, num_shards: int, out_dir: pathlib.Path
) -> list[ShardRecord]:
    """Cut a split into `num_shards` contiguous, evenly sized Parquet files of 1,000-row groups."""
    records = []
    for index in range(num_shards):
        relative = layout.shard_path(config, split, index, num_shards)
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        part = dataset.shard(num_shards=num_shards, index=index, contiguous=True)
        write_parquet(part, path)
        records.append(ShardRecord(relative, config, split, len(part), path.stat().st_size, layout.sha256_file(path)))
    return records


def write_parquet(dataset: datasets.Dataset, path: pathlib.Path) -> None:
    """Write `dataset` as `Dataset.to_parquet` does, but with the features in every version's spelling.

    Same options as `to_parquet` (content-defined chunking, page index, per-column
    options such as no compression for the PNG bytes), 1,000-row groups; the values are
    written as they are stored, so PNG bytes are not re-encoded and the same rows give
    the same bytes. Only the schema's `huggingface` metadata differs, for `Sequence`
    features: see `scripts/portable.py`.
    """
    schema = portable.arrow_schema(dataset.features)
    chunking = datasets.config.DEFAULT_CDC_OPTIONS
    options = get_parquet_column_options(dataset.features, schema)
    with pq.ParquetWriter(
        path, schema=schema, use_content_defined_chunking=chunking, write_page_index=True, **options
    ) as writer:
        for batch in dataset.with_format("arrow").iter(batch_size=layout.ROW_GROUP_SIZE):
            writer.write_table(batch.replace_schema_metadata(schema.metadata))
        writer.add_key_value_metadata({"content_defined_chunking": json.dumps(chunking)})


def hub_info(builder_info: datasets.DatasetInfo, shards: Sequence[ShardRecord]) -> datasets.DatasetInfo:
    """The builder's info, describing the Hub copy: its files are what a user downloads."""
    info = copy.deepcopy(builder_info)
    info.download_checksums = {s.path: {"num_bytes": s.num_bytes, "checksum": s.sha256} for s in shards}
    info.download_size = sum(s.num_bytes for s in shards)
    info.dataset_size = sum(split.num_bytes for split in info.splits.values())
    for name, split in info.splits.items():
        split.shard_lengths = [s.num_rows for s in shards if s.split == name]
        split.original_shard_lengths = None
    info.size_in_bytes = None
    return info


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
    repo_id: str = DEFAULT_REPO_ID,
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
        return _build_locked(repo_dir, num_proc, repo_id, download_cache, template, started, builder_kwargs)


def _build_locked(
    repo_dir: pathlib.Path,
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
        shards, infos, label_counts, served_by = [], {}, {}, {}
        for config in fashion_mnist.FEATURES:
            builder = prepare(work_dir, config, num_proc, download_cache, **builder_kwargs)
            served_by |= builder.served_by
            config_shards = []
            for split in fashion_mnist.SPLITS:
                dataset = builder.as_dataset(split=split)
                config_shards += write_shards(dataset, config, split, fashion_mnist.NUM_SHARDS[split], staged)
                if config == fashion_mnist.NAME:
                    labels = np.asarray(dataset.data.column("label"))
                    label_counts[split] = np.bincount(labels, minlength=len(fashion_mnist.LABEL_NAMES)).tolist()
                    if split == "train":
                        write_preview(dataset, labels, staged / layout.PREVIEW)
            infos[config] = hub_info(builder.info, config_shards)
            shards += config_shards
        facts = card.CardFacts(infos, label_counts, repo_id)
        (staged / layout.INFOS).write_text(infos_json(infos), encoding="utf-8")
        (staged / layout.CARD).write_text(card.render_card(template_text, facts), encoding="utf-8")
        fashion_mnist.pause_point("staged")
        repo_lock.commit(repo_dir, work_dir)
    finally:
        if not (work_dir / repo_lock.JOURNAL).exists():  # a journalled commit is finished by the next reader
            shutil.rmtree(work_dir, ignore_errors=True)
    return BuildSummary(repo_dir, shards, served_by, time.perf_counter() - started)


def write_preview(dataset: datasets.Dataset, labels: np.ndarray, path: pathlib.Path) -> None:
    """Render the sprite from the first examples of each class, decoded from the shards' PNGs."""
    sprite = preview.sprite_of(
        labels,
        lambda indices: dataset.select(indices.tolist()).with_format("numpy")["image"][:],
        fashion_mnist.LABEL_NAMES,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    sprite.save(path, format="PNG", optimize=True)


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
    parser.add_argument("--repo-id", default=DEFAULT_REPO_ID, help="Hub repo id shown in the card's examples")
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
