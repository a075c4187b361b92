"""scripts/layout.py: the Hub layout's names, and writes that are never seen half-done."""

from __future__ import annotations

import hashlib
import pathlib

from scripts import layout


def test_shard_names_are_push_to_hub_names_and_match_the_split_glob() -> None:
    path = layout.shard_path("train", 3, 8)
    assert path == "data/train-00003-of-00008.parquet"
    assert pathlib.PurePosixPath(path).match(layout.split_glob("train"))
    match = layout.SHARD_PATTERN.match(pathlib.PurePosixPath(path).name)
    assert match and (match["split"], match["index"], match["count"]) == ("train", "00003", "00008")


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
