"""scripts/build.py: layout, determinism, atomicity, the card and infos it writes, loading the result."""

from __future__ import annotations

import json
import pathlib

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from huggingface_hub import DatasetCard

import fashion_mnist
from scripts import build, card, layout
from tests.helpers.archives import pixel_digest
from tests.helpers.synthetic import read_idx_gz

datasets.disable_progress_bars()


def file_digests(repo: pathlib.Path) -> dict[str, str]:
    """SHA-256 of every file the build writes, keyed by repo-relative path."""
    paths = [
        *sorted(p for p in (repo / layout.DATA_DIR).rglob("*") if p.is_file()),
        repo / layout.CARD,
        repo / layout.INFOS,
    ]
    return {str(path.relative_to(repo)): layout.sha256_file(path) for path in paths}


def build_synthetic(repo: pathlib.Path, archives: tuple[pathlib.Path, tuple]) -> build.BuildSummary:
    directory, table = archives
    return build.build_repo(repo, num_proc=1, data_dir=str(directory), mirrors=[], system_dirs=[], archives=table)


@pytest.mark.parametrize("config", list(fashion_mnist.FEATURES))
def test_layout_is_push_to_hub_shards_with_small_row_groups(
    synthetic_repo: tuple[pathlib.Path, tuple], config: str
) -> None:
    repo, table = synthetic_repo
    directory = repo / layout.CONFIG_DIRS[config]
    for split, count in fashion_mnist.NUM_SHARDS.items():
        files = sorted(path.name for path in directory.glob(f"{split}-*.parquet"))
        assert files == [f"{split}-{index:05d}-of-{count:05d}.parquet" for index in range(count)]
        rows = [pq.ParquetFile(directory / name).metadata.num_rows for name in files]
        expected_total = next(a.num_examples for a in table if a.split == split and a.kind == "labels")
        assert sum(rows) == expected_total
        assert max(rows) - min(rows) <= 1, f"{split} shards are not evenly sized: {rows}"
    schema = pq.read_schema(next(directory.glob("train-*.parquet")))
    expected_type = {
        fashion_mnist.NAME: pa.struct({"bytes": pa.binary(), "path": pa.string()}),
        fashion_mnist.PIXELS: pa.list_(pa.uint8(), fashion_mnist.NUM_PIXELS),
    }
    assert schema.field(next(iter(fashion_mnist.FEATURES[config]))).type == expected_type[config]
    assert datasets.Features.from_arrow_schema(schema) == fashion_mnist.FEATURES[config]
    assert (repo / layout.PREVIEW).read_bytes().startswith(b"\x89PNG")


def test_card_yaml_and_infos_agree(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, _ = synthetic_repo
    data = DatasetCard.load(repo / layout.CARD).data
    assert data.license == ["mit"] and data.task_categories == ["image-classification"]
    assert data.task_ids == ["multi-class-image-classification"] and data.paperswithcode_id == "fashion-mnist"
    assert data.configs == [
        {
            "config_name": "fashion_mnist",
            "data_files": [{"split": "train", "path": "data/train-*"}, {"split": "test", "path": "data/test-*"}],
            "default": True,
        },
        {
            "config_name": "pixels",
            "data_files": [
                {"split": "train", "path": "data/pixels/train-*"},
                {"split": "test", "path": "data/pixels/test-*"},
            ],
        },
    ]


@pytest.mark.parametrize("config", list(fashion_mnist.FEATURES))
def test_infos_hold_the_builders_metadata_and_describe_the_files(
    synthetic_repo: tuple[pathlib.Path, tuple], config: str
) -> None:
    repo, table = synthetic_repo
    assert "dataset_info" not in DatasetCard.load(repo / layout.CARD).data.to_dict()
    infos = datasets.DatasetInfo.from_dict(json.loads((repo / layout.INFOS).read_text())[config])
    builder_info = fashion_mnist.dataset_info(config)
    assert infos.features == fashion_mnist.FEATURES[config]
    for field in ("description", "citation", "homepage", "license", "supervised_keys"):
        assert getattr(infos, field) == getattr(builder_info, field), field
    expected = {a.split: a.num_examples for a in table if a.kind == "labels"}
    assert {name: split.num_examples for name, split in infos.splits.items()} == expected
    shards = sorted(str(p.relative_to(repo)) for p in (repo / layout.CONFIG_DIRS[config]).glob("*.parquet"))
    assert infos.download_checksums is None  # datasets 2.x/3.x would hold them against the URLs they download
    assert infos.download_size == sum((repo / path).stat().st_size for path in shards)
    assert infos.splits["train"].shard_lengths == [
        pq.ParquetFile(repo / shard).metadata.num_rows for shard in shards if "/train-" in shard
    ]


def test_checksums_record_every_shard_of_every_config(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, _ = synthetic_repo
    recorded = json.loads((repo / layout.CHECKSUMS).read_text())
    shards = sorted(str(p.relative_to(repo)) for p in (repo / layout.DATA_DIR).rglob("*.parquet"))
    assert list(recorded) == shards and len(shards) == len(fashion_mnist.FEATURES) * sum(
        fashion_mnist.NUM_SHARDS.values()
    )
    for path, record in recorded.items():
        assert record == {"num_bytes": (repo / path).stat().st_size, "sha256": layout.sha256_file(repo / path)}


@pytest.mark.parametrize("config", list(fashion_mnist.FEATURES))
def test_shards_are_what_writing_the_builders_examples_gives(
    synthetic_repo: tuple[pathlib.Path, tuple],
    synthetic_archives: tuple[pathlib.Path, tuple],
    tmp_path: pathlib.Path,
    config: str,
) -> None:
    """The build writes Arrow tables straight from the arrays; the builder's own output, written to Parquet
    the same way, must give the same bytes, file for file, and the same Arrow size per split."""
    repo, _ = synthetic_repo
    directory, table = synthetic_archives
    builder = fashion_mnist.FashionMnist(
        config_name=config, cache_dir=str(tmp_path / "cache"), data_dir=str(directory), archives=table
    )
    builder.download_and_prepare()
    infos = json.loads((repo / layout.INFOS).read_text())[config]
    for split in fashion_mnist.SPLITS:
        dataset = builder.as_dataset(split=split)
        count = fashion_mnist.NUM_SHARDS[split]
        for index in range(count):
            part = dataset.shard(num_shards=count, index=index, contiguous=True).with_format("arrow")[:]
            path = tmp_path / f"{split}-{index}.parquet"
            build.write_parquet(part, fashion_mnist.FEATURES[config], path)
            assert path.read_bytes() == (repo / layout.shard_path(config, split, index, count)).read_bytes()
        # Arrow rounds each batch's validity bitmap (the null `path`s) up to whole bytes, so the size depends,
        # by a few bytes a batch, on how the rows were batched: the builder's writer batches across its shards.
        assert infos["splits"][split]["num_bytes"] == pytest.approx(builder.info.splits[split].num_bytes, abs=count)


def test_two_builds_give_identical_bytes(
    synthetic_archives: tuple[pathlib.Path, tuple], tmp_path: pathlib.Path
) -> None:
    build_synthetic(tmp_path / "first", synthetic_archives)
    build_synthetic(tmp_path / "second", synthetic_archives)
    first, second = file_digests(tmp_path / "first"), file_digests(tmp_path / "second")
    assert len(first) == len(fashion_mnist.FEATURES) * sum(fashion_mnist.NUM_SHARDS.values()) + 4  # + preview,
    # checksums, card, infos
    assert first == second


@pytest.mark.parametrize("failing_step", ["write_shard_second_file", "render_card"])
def test_failed_build_leaves_previous_copy_untouched(
    synthetic_repo: tuple[pathlib.Path, tuple],
    synthetic_archives: tuple[pathlib.Path, tuple],
    monkeypatch: pytest.MonkeyPatch,
    failing_step: str,
) -> None:
    repo, _ = synthetic_repo
    before = file_digests(repo)
    calls = []

    def fail_on_second_file(*args: object, **kwargs: object) -> build.ShardRecord:
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("interrupted midway")
        return original_write_shard(*args, **kwargs)

    def fail_rendering(*args: object, **kwargs: object) -> str:
        raise RuntimeError("interrupted midway")

    original_write_shard = build.write_shard
    if failing_step == "render_card":
        monkeypatch.setattr(card, "render_card", fail_rendering)
    else:
        monkeypatch.setattr(build, "write_shard", fail_on_second_file)  # the build runs in-process (num_proc=1)
    with pytest.raises(RuntimeError, match="interrupted midway"):
        build_synthetic(repo, synthetic_archives)
    assert file_digests(repo) == before
    assert not list(repo.glob(".build-*")), "the scratch directory was left behind"


def test_bad_archives_fail_before_anything_changes(
    synthetic_repo: tuple[pathlib.Path, tuple], synthetic_archives: tuple[pathlib.Path, tuple]
) -> None:
    repo, _ = synthetic_repo
    before = file_digests(repo)
    directory, _ = synthetic_archives
    (directory / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not a gzip file")
    with pytest.raises(fashion_mnist.NoValidSourceError, match=r"t10k-labels-idx1-ubyte\.gz"):
        build_synthetic(repo, synthetic_archives)
    assert file_digests(repo) == before


def test_rebuild_keeps_hand_written_prose(
    synthetic_repo: tuple[pathlib.Path, tuple], synthetic_archives: tuple[pathlib.Path, tuple]
) -> None:
    repo, _ = synthetic_repo
    card_path = repo / layout.CARD
    edited = card_path.read_text().replace("## Labels\n", "## Labels\n\nA maintainer's own paragraph.\n")
    edited = card.replace_block(edited, "labels", "stale table")
    card_path.write_text(edited)
    build_synthetic(repo, synthetic_archives)
    rebuilt = card_path.read_text()
    assert "A maintainer's own paragraph." in rebuilt
    assert "stale table" not in rebuilt and "| 0 | T-shirt/top |" in rebuilt


def test_built_repo_loads_with_load_dataset(
    synthetic_repo: tuple[pathlib.Path, tuple], synthetic_archives: tuple[pathlib.Path, tuple]
) -> None:
    """Both configs load, the image one by default, and hold the archives' pixels and labels in order."""
    repo, table = synthetic_repo
    directory, _ = synthetic_archives
    dataset = datasets.load_dataset(str(repo))
    pixels = datasets.load_dataset(str(repo), fashion_mnist.PIXELS)
    assert dataset["train"].features == fashion_mnist.FEATURES[fashion_mnist.NAME]
    assert pixels["train"].features == fashion_mnist.FEATURES[fashion_mnist.PIXELS]
    assert dataset["train"].features["label"].names == list(fashion_mnist.LABEL_NAMES)
    for split in fashion_mnist.SPLITS:
        images_archive, labels_archive = (
            next(a for a in table if a.split == split and a.kind == kind) for kind in ("images", "labels")
        )
        expected_images = read_idx_gz((directory / images_archive.filename).read_bytes())
        expected_labels = read_idx_gz((directory / labels_archive.filename).read_bytes())
        assert dataset[split].num_rows == pixels[split].num_rows == images_archive.num_examples
        raw = pixels[split].with_format("numpy", dtype=np.uint8)[:]
        assert np.array_equal(raw["pixels"].reshape(expected_images.shape), expected_images)
        assert np.array_equal(raw["label"], expected_labels)
        decoded = np.stack([np.asarray(image) for image in dataset[split]["image"]])
        assert np.array_equal(decoded, expected_images)


def test_streamed_repo_gives_each_example_once_to_two_workers(
    synthetic_repo: tuple[pathlib.Path, tuple], synthetic_archives: tuple[pathlib.Path, tuple]
) -> None:
    repo, _ = synthetic_repo
    directory, _ = synthetic_archives
    stream = datasets.load_dataset(str(repo), split="train", streaming=True)
    stream = stream.map(
        lambda batch: {"pixels": [np.asarray(image) for image in batch["image"]]},
        batched=True,
        remove_columns=["image"],
    ).with_format("torch")
    loader = torch.utils.data.DataLoader(stream, batch_size=4, num_workers=2)
    seen = [pixel_digest(pixels.numpy()) for batch in loader for pixels in batch["pixels"]]
    expected = [pixel_digest(image) for image in read_idx_gz((directory / "train-images-idx3-ubyte.gz").read_bytes())]
    assert sorted(seen) == sorted(expected)


@pytest.mark.parametrize("config", list(fashion_mnist.FEATURES))
def test_real_archives_build_verifies_and_loads(real_repo: pathlib.Path, config: str) -> None:
    counts = {}
    for split, count in fashion_mnist.NUM_SHARDS.items():
        files = sorted((real_repo / layout.CONFIG_DIRS[config]).glob(f"{split}-*.parquet"))
        assert len(files) == count
        metadata = [pq.ParquetFile(path).metadata for path in files]
        counts[split] = sum(m.num_rows for m in metadata)
        assert all(m.row_group(i).num_rows <= 1000 for m in metadata for i in range(m.num_row_groups))
    assert counts == {"train": 60_000, "test": 10_000}
    dataset = datasets.load_dataset(str(real_repo), config, split="test")
    assert np.bincount(dataset["label"]).tolist() == [1_000] * 10


def test_copy_size_stays_within_twice_the_one_config_copy(real_repo: pathlib.Path) -> None:
    """The issue's bound: the pixels config may not more than double what users download (2.1x the PNG shards)."""
    sizes = {
        config: sum(p.stat().st_size for p in (real_repo / layout.CONFIG_DIRS[config]).glob("*.parquet"))
        for config in fashion_mnist.FEATURES
    }
    assert sum(sizes.values()) <= 2.1 * sizes[fashion_mnist.NAME], sizes


def test_cli_reports_failure_and_changes_nothing(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "no-archives"
    empty.mkdir()
    repo = tmp_path / "repo"
    code = build.main(["--data-dir", str(empty), "--mirror", "http://127.0.0.1:9/", "--repo-dir", str(repo)])
    assert code == 1
    message = capsys.readouterr().err
    assert "nothing was changed" in message and "train-images-idx3-ubyte.gz" in message and str(empty) in message
    assert not (repo / layout.DATA_DIR).exists()
