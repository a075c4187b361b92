"""scripts/card.py: metadata from the builder, generated blocks and included recipes inside hand-written prose."""

from __future__ import annotations

import copy
import re

import datasets
import pytest
from huggingface_hub import DatasetCard, DatasetCardData

import fashion_mnist
from scripts import card, layout

BLOCK_NAMES = [*card.BLOCKS, "recipes/quick_start.py"]
TEMPLATE = "---\nold: yaml\n---\n# Title\n\nHand prose.\n\n" + "".join(
    f"<!-- BEGIN GENERATED: {name} -->\nold {name}\n<!-- END GENERATED: {name} -->\n\nMore prose.\n\n"
    for name in BLOCK_NAMES
)
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)
PARQUET_PATH = re.compile(r"data/[\w/*.-]+?\.parquet")


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
    assert rendered.count("More prose.") == len(BLOCK_NAMES) and "Hand prose." in rendered
    assert not any(f"old {name}" in rendered for name in BLOCK_NAMES)
    assert "| 9 | Ankle boot | 6,009 | 1,000 |" in rendered
    assert 'load_dataset("someone/fmnist")' in rendered
    assert "| `fashion_mnist` | train | 60,000 | 1 | 77 |" in rendered
    assert "| `pixels` | train | 60,000 | 1 | 66 |" in rendered
    assert fashion_mnist.ARCHIVES[0].raw_sha256 in rendered and "arXiv:1708.07747" in rendered
    assert card.render_card(rendered, facts) == rendered, "rendering must be idempotent"


def test_missing_block_is_a_clear_error(facts: card.CardFacts) -> None:
    template = TEMPLATE.replace("<!-- BEGIN GENERATED: labels -->", "")
    with pytest.raises(ValueError, match=r"no generated block 'labels'.*<!-- BEGIN GENERATED: labels -->"):
        card.render_card(template, facts)


def test_a_recipe_is_included_verbatim_with_the_copys_repo_id(facts: card.CardFacts) -> None:
    rendered = card.render_card(TEMPLATE, facts)
    recipe = (layout.PROJECT_ROOT / "recipes" / "quick_start.py").read_text(encoding="utf-8")
    assert PYTHON_BLOCK.findall(rendered) == [recipe.replace(layout.REPO_ID, "someone/fmnist")]
    assert layout.REPO_ID not in rendered


def test_a_missing_recipe_is_a_clear_error(facts: card.CardFacts) -> None:
    template = TEMPLATE.replace("recipes/quick_start.py", "recipes/no_such_recipe.py")
    with pytest.raises(ValueError, match=r"includes 'no_such_recipe.py'.*does not exist"):
        card.render_card(template, facts)


# --- The committed card and the recipes ------------------------------------------------------


@pytest.fixture(scope="module")
def committed_blocks() -> list[str]:
    """The ```python blocks of the card as committed (the build writes it; the push publishes it)."""
    return PYTHON_BLOCK.findall((layout.PROJECT_ROOT / layout.CARD).read_text(encoding="utf-8"))


def test_every_python_block_of_the_card_is_a_recipe_file_and_every_recipe_is_shown_once(
    committed_blocks: list[str],
) -> None:
    recipes = {path.name: path.read_text(encoding="utf-8") for path in card.recipe_files()}
    assert len(recipes) >= 10, "recipes/ holds the card's code blocks"
    shown = [name for block in committed_blocks for name, code in recipes.items() if block == code]
    unmatched = [block for block in committed_blocks if block not in recipes.values()]
    assert not unmatched, f"card blocks that are no recipe file (edit recipes/, then rebuild): {unmatched}"
    assert sorted(shown) == sorted(recipes), "each recipe must be shown exactly once"


def test_no_python_file_but_the_recipe_holds_a_card_block(committed_blocks: list[str]) -> None:
    """A copy of a block elsewhere would drift from what the card shows: the benchmark and tests import recipes."""
    sources = [
        path
        for path in layout.PROJECT_ROOT.rglob("*.py")
        if not path.is_relative_to(layout.PROJECT_ROOT / card.RECIPES_DIR)
        and not any(part.startswith(".") for part in path.relative_to(layout.PROJECT_ROOT).parts)
    ]
    for block in committed_blocks:
        lines = {line.strip() for line in block.splitlines() if len(line.strip()) >= 40}
        for path in sources:
            copied = lines & {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}
            assert len(copied) < 3, f"{path} repeats lines of a card block: {sorted(copied)}"


def test_every_parquet_path_a_recipe_names_is_one_the_build_writes() -> None:
    splits = [(config, split) for config in fashion_mnist.FEATURES for split in fashion_mnist.NUM_SHARDS]
    names = {f"{layout.split_glob(config, split)}.parquet" for config, split in splits} | {
        layout.shard_path(config, split, 0, fashion_mnist.NUM_SHARDS[split]) for config, split in splits
    }
    named = [path for recipe in card.recipe_files() for path in PARQUET_PATH.findall(recipe.read_text("utf-8"))]
    assert named, "some recipe reads the Parquet files by name"
    assert set(named) <= names, f"recipes name files no build writes: {set(named) - names}"


def test_the_tested_with_table_names_the_client_versions_the_compat_tests_pin() -> None:
    """The card's versions are those `make compat` installs (`compat_envs.CLIENTS`): bump one, and the other."""
    from tests.helpers import compat_envs

    card_text = (layout.PROJECT_ROOT / layout.CARD).read_text(encoding="utf-8")
    table = card_text[card_text.index("| client | version |") :].split("\n\n")[0]
    shown = {"torchvision", "torch", "transformers", "evaluate", "timm", "tensorflow-cpu", "keras"}
    for env in compat_envs.CLIENTS.values():
        for requirement in env:
            name, _, version = requirement.partition("==")
            if name in shown:
                shown.remove(name)
                assert version in table, f"the card's Tested-with table lacks {name} {version}"
    assert not shown, f"compat_envs.CLIENTS pins no version of {sorted(shown)}"
