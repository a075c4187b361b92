"""scripts/card.py: metadata from the builder, generated blocks inside hand-written prose."""

from __future__ import annotations

import copy

import datasets
import pytest
from huggingface_hub import DatasetCard, DatasetCardData

import fashion_mnist
from scripts import card

TEMPLATE = "---\nold: yaml\n---\n# Title\n\nHand prose.\n\n" + "".join(
    f"<!-- BEGIN GENERATED: {name} -->\nold {name}\n<!-- END GENERATED: {name} -->\n\nMore prose.\n\n"
    for name in card.BLOCKS
)


def config_info(config: str) -> datasets.DatasetInfo:
    """A small info for one config, as the build would record it."""
    info = copy.deepcopy(
        datasets.DatasetInfo(
            description=fashion_mnist.DESCRIPTION, features=fashion_mnist.FEATURES[config], config_name=config
        )
    )
    info.splits = datasets.SplitDict()
    info.splits.add(datasets.SplitInfo("train", num_bytes=100, num_examples=60_000, shard_lengths=[60_000]))
    info.splits.add(datasets.SplitInfo("test", num_bytes=10, num_examples=10_000, shard_lengths=[10_000]))
    return info


@pytest.fixture
def facts() -> card.CardFacts:
    counts = {"train": [6_000 + i for i in range(10)], "test": [1_000] * 10}
    parquet_bytes = {fashion_mnist.NAME: {"train": 77, "test": 7}, fashion_mnist.PIXELS: {"train": 66, "test": 6}}
    infos = {config: config_info(config) for config in fashion_mnist.FEATURES}
    return card.CardFacts(infos, counts, "someone/fmnist", parquet_bytes)


@pytest.mark.parametrize(("n", "bucket"), [(999, "n<1K"), (1_000, "1K<n<10K"), (70_000, "10K<n<100K")])
def test_size_category(n: int, bucket: str) -> None:
    assert card.size_category(n) == bucket


def test_render_replaces_yaml_and_blocks_and_keeps_prose(facts: card.CardFacts) -> None:
    rendered = card.render_card(TEMPLATE, facts)
    parsed = DatasetCard(rendered)
    assert isinstance(parsed.data, DatasetCardData) and "old" not in parsed.data.to_dict()
    assert parsed.data.size_categories == ["10K<n<100K"] and parsed.data.pretty_name == "Fashion-MNIST"
    assert "dataset_info" not in parsed.data.to_dict(), "YAML dataset_info would hide dataset_infos.json"
    assert [c["config_name"] for c in parsed.data.configs] == [fashion_mnist.NAME, fashion_mnist.PIXELS]
    assert parsed.data.configs[0]["default"] is True and "default" not in parsed.data.configs[1]
    assert parsed.data.configs[1]["data_files"][0] == {"split": "train", "path": "data/pixels/train-*"}
    assert rendered.count("More prose.") == len(card.BLOCKS) and "Hand prose." in rendered
    assert not any(f"old {name}" in rendered for name in card.BLOCKS)
    assert "| 9 | Ankle boot | 6,009 | 1,000 |" in rendered
    assert 'load_dataset("someone/fmnist")' in rendered
    assert "| `fashion_mnist` | train | 60,000 | 1 in `data/` | 77 |" in rendered
    assert "| `pixels` | train | 60,000 | 1 in `data/pixels/` | 66 |" in rendered
    assert fashion_mnist.ARCHIVES[0].raw_sha256 in rendered and "arXiv:1708.07747" in rendered
    assert card.render_card(rendered, facts) == rendered, "rendering must be idempotent"


def test_missing_block_is_a_clear_error(facts: card.CardFacts) -> None:
    template = TEMPLATE.replace("<!-- BEGIN GENERATED: usage -->", "")
    with pytest.raises(ValueError, match=r"no generated block 'usage'.*<!-- BEGIN GENERATED: usage -->"):
        card.render_card(template, facts)


def test_frameworks_block_names_the_repo_and_each_framework(facts: card.CardFacts) -> None:
    block = card._frameworks(facts)
    assert 'load_dataset("someone/fmnist", "pixels")' in block and "def load_data():" in block
    assert 'fs.glob("datasets/someone/fmnist/data/pixels/train-*.parquet")' in block
    for needle in ("model.fit(", "@jax.jit", "jax.device_put(", "streaming_split(2", "iter_torch_batches(", "tf.data"):
        assert needle in block, needle
