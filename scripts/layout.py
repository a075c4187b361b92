"""Where things live in a built repository: one place for the Hub copy's file names.

The layout is the one `Dataset.push_to_hub` writes, so the Hub, `load_dataset` and the
dataset viewer read it with no special handling.
"""

from __future__ import annotations

import hashlib
import os
import pathlib

import fashion_mnist

# The copy's Hub repo id, as the recipes, the examples of the card and the tests name it; a build for another
# repo (`--repo-id`) writes that id into the card in its place.
REPO_ID = "org/fashion_mnist"
CARD = "README.md"
INFOS = "dataset_infos.json"
DATA_DIR = "data"  # everything the build generates lives under it, so one directory swap replaces it all
PREVIEW = f"{DATA_DIR}/preview.png"
CHECKSUMS = f"{DATA_DIR}/checksums.json"  # each shard's size and SHA-256: what verify holds the files to
ROW_GROUP_SIZE = 1000  # rows per Parquet row group: small reads for the viewer and `reshard()`
# Every column's Parquet codec. `to_parquet` leaves PNG bytes uncompressed and snappy-compresses the rest; zstd
# (level 3) makes both configs 10-11% smaller: 70,000 PNGs repeat the same 57 header bytes, and the pixels compress
# almost as far as the .gz archives. Fewer bytes is a faster first use wherever the user's link is the limit.
COMPRESSION = "zstd"
# Config -> directory of its shards. The default config keeps the layout it always had; `data/train-*`
# does not match `data/pixels/train-*`, so each config's globs name its own files only.
CONFIG_DIRS = {fashion_mnist.NAME: DATA_DIR, fashion_mnist.PIXELS: f"{DATA_DIR}/{fashion_mnist.PIXELS}"}

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[1]
# The source tree as the Hub copy holds it: in a folder of its own, so the card's links to the builder, recipes,
# example and benchmark resolve on the Hub page. Never at the root: `datasets` 4 and later refuse a repo
# `org/fashion_mnist` holding `fashion_mnist.py` there. The card's `configs` name only `data/`, so neither
# `load_dataset` nor the dataset viewer reads it.
SOURCE_DIR = "source"


def shard_path(config: str, split: str, index: int, count: int) -> str:
    """Repo-relative path of one shard, e.g. `data/pixels/train-00003-of-00008.parquet`."""
    return f"{CONFIG_DIRS[config]}/{split}-{index:05d}-of-{count:05d}.parquet"


def split_glob(config: str, split: str) -> str:
    """The `data_files` pattern of a split in the card's `configs`."""
    return f"{CONFIG_DIRS[config]}/{split}-*"


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomic(path: str | os.PathLike, content: str | bytes) -> None:
    """Write a file so that readers see the old content or the new, never a half-written one."""
    path = pathlib.Path(path)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(temporary, mode, **({} if isinstance(content, bytes) else {"encoding": "utf-8"})) as file:
        file.write(content)
    os.replace(temporary, path)
