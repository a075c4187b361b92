"""What users do with the published dataset, against the local Hub serving the real build.

`load_dataset` (all splits, a named config), streaming into a two-worker `DataLoader`,
two `torch.distributed` ranks splitting the stream, the `transformers` Trainer example,
`snapshot_download` and `HfFileSystem`. Every image checked is compared with the pixels
of the original archives, parsed here with gzip and numpy only.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Iterator

import datasets
import numpy as np
import pytest
import torch
from huggingface_hub import HfFileSystem, snapshot_download

import fashion_mnist
from local_hub import free_port
from recipes import stream_pixels
from scripts import layout, push_to_hub
from tests.conftest import HUB_REPO
from tests.helpers.archives import model_input_examples, pixel_digest, split_arrays, split_examples

SPLIT_SIZES = {"train": 60_000, "test": 10_000}
SAMPLE_INDICES = {"train": (0, 7_499, 7_500, 59_999), "test": (0, 4_999, 5_000, 9_999)}  # first, last, shard edges
TOO_MANY_WORKERS = "Too many dataloader workers"
RANKS_TIMEOUT = 240  # seconds for both rank processes
TRAIN_STEPS = 300


@pytest.fixture(scope="module")
def archive_arrays(real_archives: pathlib.Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """split -> (images, labels), straight from the archives."""
    return {split: split_arrays(real_archives, split) for split in SPLIT_SIZES}


@pytest.fixture(scope="module")
def expected_test_examples(real_archives: pathlib.Path) -> collections.Counter:
    """The test split as a multiset of (label, pixel digest)."""
    return split_examples(real_archives, "test")


@pytest.fixture
def datasets_log(tmp_path: pathlib.Path) -> Iterator[pathlib.Path]:
    """A file receiving the `datasets` loggers' records, from this process and from forked DataLoader workers."""
    path = tmp_path / "datasets.log"
    handler = logging.FileHandler(path)
    library_logger = logging.getLogger("datasets")
    library_logger.addHandler(handler)
    try:
        yield path
    finally:
        library_logger.removeHandler(handler)
        handler.close()


def assert_same_pixels(dataset: datasets.Dataset, split: str, images: np.ndarray, labels: np.ndarray) -> None:
    for index in SAMPLE_INDICES[split]:
        example = dataset[index]
        np.testing.assert_array_equal(np.asarray(example["image"]), images[index], err_msg=f"image {index}")
        assert example["label"] == labels[index]


# --- load_dataset -----------------------------------------------------------------------


def test_load_dataset_gives_both_splits_with_the_builders_features(
    hub_endpoint: str, tmp_path: pathlib.Path, archive_arrays: dict
) -> None:
    loaded = datasets.load_dataset(HUB_REPO, cache_dir=str(tmp_path))

    assert {split: len(loaded[split]) for split in loaded} == SPLIT_SIZES
    for split, dataset in loaded.items():
        assert dataset.features == fashion_mnist.FEATURES[fashion_mnist.NAME]
        assert dataset.features["label"].names == list(fashion_mnist.LABEL_NAMES)
        assert_same_pixels(dataset, split, *archive_arrays[split])


def test_load_dataset_named_config_test_split_is_the_archive(
    hub_endpoint: str, tmp_path: pathlib.Path, archive_arrays: dict
) -> None:
    test = datasets.load_dataset(HUB_REPO, "fashion_mnist", split="test", cache_dir=str(tmp_path))

    assert isinstance(test, datasets.Dataset)
    assert test.features["label"].names == list(fashion_mnist.LABEL_NAMES)
    images, labels = archive_arrays["test"]
    everything = test.with_format("numpy")[:]
    np.testing.assert_array_equal(everything["image"], images)  # all 10,000, decoded from the Hub's PNGs
    np.testing.assert_array_equal(everything["label"], labels)


def test_load_dataset_pixels_config_is_the_archive_as_uint8(
    hub_endpoint: str, tmp_path: pathlib.Path, archive_arrays: dict
) -> None:
    """The decode-free config: every split, every pixel and label, as the card's full-array recipe reads them."""
    loaded = datasets.load_dataset(HUB_REPO, fashion_mnist.PIXELS, cache_dir=str(tmp_path))

    assert {split: len(loaded[split]) for split in loaded} == SPLIT_SIZES
    for split, dataset in loaded.items():
        assert dataset.features == fashion_mnist.FEATURES[fashion_mnist.PIXELS]
        images, labels = archive_arrays[split]
        everything = dataset.with_format("numpy", dtype=np.uint8)[:]
        assert everything["pixels"].dtype == np.uint8
        np.testing.assert_array_equal(everything["pixels"].reshape(images.shape), images)
        np.testing.assert_array_equal(everything["label"], labels)


def test_streaming_pixels_in_batches_into_two_workers_gives_every_example_once(
    hub_endpoint: str, expected_test_examples: collections.Counter, datasets_log: pathlib.Path
) -> None:
    """The card's streaming recipe for the pixels config: shuffled, batched in Arrow, two workers, each file once."""
    stream = datasets.load_dataset(HUB_REPO, fashion_mnist.PIXELS, split="test", streaming=True)
    stream = stream.shuffle(seed=0, buffer_size=1_000, max_buffer_input_shards=1).with_format("arrow").batch(256)
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=2, collate_fn=stream_pixels.to_tensors)

    seen = collections.Counter()
    for x, y in loader:
        assert x.dtype == torch.float32 and x.shape[1:] == (1, *fashion_mnist.IMAGE_SHAPE)
        seen.update(model_input_examples(x, y))

    assert seen == expected_test_examples
    assert TOO_MANY_WORKERS not in datasets_log.read_text()


# --- Streaming --------------------------------------------------------------------------


def identify(example: dict) -> dict:
    """Replace the image by its pixel digest, and note which DataLoader worker produced the example."""
    worker = torch.utils.data.get_worker_info()
    return {"digest": pixel_digest(example["image"]), "worker": worker.id if worker else -1}


def stream_through_loader(stream: datasets.IterableDataset, num_workers: int) -> tuple[collections.Counter, dict]:
    """(label, digest) multiset and examples per worker, from a DataLoader over `stream`."""
    loader = torch.utils.data.DataLoader(
        stream.map(identify, remove_columns=["image"]), batch_size=500, num_workers=num_workers
    )
    seen, per_worker = collections.Counter(), collections.Counter()
    for batch in loader:
        seen.update(zip(batch["label"].tolist(), batch["digest"], strict=True))
        per_worker.update(batch["worker"].tolist())
    return seen, dict(per_worker)


def test_streaming_into_two_dataloader_workers_gives_every_example_once(
    hub_endpoint: str, expected_test_examples: collections.Counter, datasets_log: pathlib.Path
) -> None:
    stream = datasets.load_dataset(HUB_REPO, split="test", streaming=True)
    assert stream.num_shards == fashion_mnist.NUM_SHARDS["test"]

    seen, per_worker = stream_through_loader(stream, num_workers=2)

    assert seen == expected_test_examples
    assert per_worker == {0: 5_000, 1: 5_000}  # each worker read its own half of the files; neither idled
    assert TOO_MANY_WORKERS not in datasets_log.read_text()


def test_the_too_many_workers_check_sees_a_worker_idle(hub_endpoint: str, datasets_log: pathlib.Path) -> None:
    """Control for the test above: one file with two workers does log the warning, and one worker idles."""
    one_file = {"test": layout.shard_path(fashion_mnist.NAME, "test", 0, fashion_mnist.NUM_SHARDS["test"])}
    stream = datasets.load_dataset(HUB_REPO, data_files=one_file, split="test", streaming=True)

    _, per_worker = stream_through_loader(stream, num_workers=2)

    assert len(per_worker) == 1
    assert f"{TOO_MANY_WORKERS}: 2 (max is dataset.num_shards=1)" in datasets_log.read_text()


def test_two_ranks_split_the_stream_disjointly_and_cover_it_once(
    hub_endpoint: str, tmp_path: pathlib.Path, expected_test_examples: collections.Counter
) -> None:
    port = free_port()
    ranks = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.stream_rank", str(tmp_path)],
            cwd=layout.PROJECT_ROOT,
            env={**os.environ, "RANK": str(rank), "WORLD_SIZE": "2", "MASTER_PORT": str(port)},
        )
        for rank in range(2)
    ]
    try:
        codes = [process.wait(RANKS_TIMEOUT) for process in ranks]
    finally:
        for process in ranks:
            process.kill()
    assert codes == [0, 0]

    results = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in range(2)]
    parts = [collections.Counter(map(tuple, result["records"])) for result in results]
    half = fashion_mnist.NUM_SHARDS["test"] // 2
    assert [result["num_shards"] for result in results] == [half, half]  # whole files: 2 ranks, half each
    assert not parts[0] & parts[1]
    assert parts[0] + parts[1] == expected_test_examples
    assert results[0]["gathered"] == results[1]["gathered"] == [result["records"] for result in results]


# --- The Trainer example ----------------------------------------------------------------


@pytest.mark.parametrize("config", list(fashion_mnist.FEATURES))
def test_trainer_example_learns_from_the_stream(hub_endpoint: str, tmp_path: pathlib.Path, config: str) -> None:
    started = time.perf_counter()

    arguments = ["--repo-id", HUB_REPO, "--config", config, "--max-steps", str(TRAIN_STEPS)]
    from examples import train_trainer  # imports transformers: only where the example runs, not at collection

    metrics = train_trainer.main([*arguments, "--output-dir", str(tmp_path)])

    print(f"Trainer example ({config}): {time.perf_counter() - started:.1f} s in all, {metrics}")
    assert metrics["steps"] == TRAIN_STEPS
    assert metrics["test_examples"] == SPLIT_SIZES["test"]
    assert metrics["test_accuracy"] > 0.70


# --- Files ------------------------------------------------------------------------------


def test_snapshot_download_gives_exactly_the_upload_set(
    hub_endpoint: str, tmp_path: pathlib.Path, real_repo: pathlib.Path
) -> None:
    snapshot = pathlib.Path(
        snapshot_download(HUB_REPO, repo_type="dataset", revision="main", cache_dir=str(tmp_path / "cache"))
    )

    downloaded = {path.relative_to(snapshot).as_posix(): path for path in snapshot.rglob("*") if path.is_file()}
    uploaded = push_to_hub.upload_set(real_repo)
    assert sorted(downloaded) == list(uploaded)
    for path, local in uploaded.items():
        assert layout.sha256_file(downloaded[path]) == layout.sha256_file(local), path


def test_hf_file_system_lists_the_shards(hub_endpoint: str, real_repo: pathlib.Path) -> None:
    root = f"datasets/{HUB_REPO}@main/"

    listed = HfFileSystem().ls(root + layout.DATA_DIR, detail=False)

    expected = [path for path in push_to_hub.upload_set(real_repo) if path.startswith(layout.DATA_DIR + "/")]
    children = {"/".join(path.split("/")[:2]) for path in expected}  # files, and the pixels config's directory
    assert sorted(listed) == sorted(root + path for path in children)
    shards = [path for path in expected if path.endswith(".parquet")]
    assert len(shards) == len(fashion_mnist.FEATURES) * sum(fashion_mnist.NUM_SHARDS.values())
    with HfFileSystem().open(root + shards[0], "rb") as shard:
        assert shard.read(4) == b"PAR1"
