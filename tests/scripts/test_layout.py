"""scripts/layout.py: the Hub layout's names, and writes that are never seen half-done."""

from __future__ import annotations

import fnmatch
import hashlib
import pathlib

import fashion_mnist
from scripts import layout


def test_shard_names_are_push_to_hub_names_and_match_the_split_glob() -> None:
    path = layout.shard_path(fashion_mnist.NAME, "train", 3, 8)
    assert path == "data/train-00003-of-00008.parquet"
    assert pathlib.PurePosixPath(path).match(layout.split_glob(fashion_mnist.NAME, "train"))


def test_each_configs_globs_name_only_its_own_shards() -> None:
    """`data/train-*` must not reach into `data/pixels/`, nor the pixels glob into `data/` (fnmatch, as verify)."""
    image, pixels = (layout.shard_path(config, "train", 0, 8) for config in (fashion_mnist.NAME, fashion_mnist.PIXELS))
    assert pixels == "data/pixels/train-00000-of-00008.parquet"
    assert not fnmatch.fnmatch(pixels, layout.split_glob(fashion_mnist.NAME, "train"))
    assert not fnmatch.fnmatch(image, layout.split_glob(fashion_mnist.PIXELS, "train"))
    assert set(layout.CONFIG_DIRS) == set(fashion_mnist.FEATURES)


def test_write_atomic_replaces_content_and_leaves_no_temporary(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "card.md"
    target.write_text("old")
    layout.write_atomic(target, "new text")
    layout.write_atomic(tmp_path / "blob.bin", b"\x00\x01")
    assert target.read_text() == "new text" and (tmp_path / "blob.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin", "card.md"]


def test_sha256_file_reads_in_chunks(tmp_path: pathlib.Path) -> None:
    data = bytes(range(256)) * 5000
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    assert layout.sha256_file(path, chunk_size=1000) == hashlib.sha256(data).hexdigest()
