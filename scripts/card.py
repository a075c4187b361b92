"""The dataset card (README.md): generated YAML metadata and generated blocks in hand-written prose.

The card's prose is Markdown in README.md itself, kept as the maintainers wrote it; this
module writes only what is computed. Its tables and figures come from the builder module
(features, label names, archives, citation) and from the shards the build wrote. Each
code block is a file of `recipes/`, included verbatim where the card names it
(`<!-- BEGIN GENERATED: recipes/NAME.py -->`), with the copy's repo id in place of
`org/fashion_mnist`.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re

import datasets
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

import fashion_mnist
from scripts import layout

FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)
RECIPES_DIR = "recipes"
RECIPE_BLOCK = re.compile(rf"<!-- BEGIN GENERATED: ({RECIPES_DIR}/[a-z0-9_]+\.py) -->")


@dataclasses.dataclass(frozen=True)
class CardFacts:
    """What the card states that is not in the builder module: the Hub copy's own numbers."""

    infos: dict[str, datasets.DatasetInfo]  # config -> the builder's info, with the copy's splits and sizes
    label_counts: dict[str, list[int]]  # split -> examples per class (the same in every config)
    repo_id: str
    parquet_bytes: dict[str, dict[str, int]]  # config -> split -> bytes of its Parquet files

    @property
    def info(self) -> datasets.DatasetInfo:
        """The default config's info."""
        return self.infos[fashion_mnist.NAME]


def size_category(num_examples: int) -> str:
    """The Hub's `size_categories` bucket for a number of examples."""
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")]
    return next((name for bound, name in bounds if num_examples < bound), "1M<n<10M")


def card_data(facts: CardFacts) -> DatasetCardData:
    """The card's YAML: Hub metadata and the `configs` that map splits to shards; no `dataset_info`.

    The default config comes first: the dataset viewer opens it. The per-config metadata
    (features, splits, sizes, and the description, citation, homepage, license and
    supervised keys) lives in `dataset_infos.json` alone, one entry per config named as
    here. A YAML `dataset_info` would replace the matching JSON entry whole on every
    datasets version from 2.x to 5.x, and it cannot hold the description and the rest:
    that is how they used to be lost. The features stay in each shard's schema too.
    """
    info = facts.info
    data = DatasetCardData(
        pretty_name="Fashion-MNIST",
        annotations_creators=["expert-generated"],
        language_creators=["found"],
        language=["en"],
        license=[fashion_mnist.LICENSE],
        multilinguality=["monolingual"],
        size_categories=[size_category(sum(split.num_examples for split in info.splits.values()))],
        source_datasets=["original"],
        task_categories=["image-classification"],
        task_ids=["multi-class-image-classification"],
        paperswithcode_id="fashion-mnist",
    )
    configs = {
        name: {
            "data_files": [{"split": split, "path": layout.split_glob(name, split)} for split in config_info.splits],
        }
        | ({"default": True} if name == fashion_mnist.NAME else {})
        for name, config_info in facts.infos.items()
    }
    MetadataConfigs(configs).to_dataset_card_data(data)
    return data


def write_block(readme: pathlib.Path, name: str, content: str) -> None:
    """Replace one generated block of the card file in place (atomically), leaving the rest as it is."""
    layout.write_atomic(readme, replace_block(readme.read_text(encoding="utf-8"), name, content))


def replace_block(text: str, name: str, content: str) -> str:
    """Put `content` between the markers of block `name`; the markers must be in `text`."""
    pattern = re.compile(
        rf"(<!-- BEGIN GENERATED: {re.escape(name)} -->\n).*?(<!-- END GENERATED: {re.escape(name)} -->)", re.S
    )
    if not pattern.search(text):
        raise ValueError(
            f"the card template has no generated block {name!r}: expected the lines "
            f"'<!-- BEGIN GENERATED: {name} -->' and '<!-- END GENERATED: {name} -->'; add them where it belongs"
        )
    return pattern.sub(lambda match: match.group(1) + content.strip("\n") + "\n" + match.group(2), text, count=1)


def render_card(template: str, facts: CardFacts, recipes_root: pathlib.Path = layout.PROJECT_ROOT) -> str:
    """The full README.md: fresh front matter, every generated block refreshed, every recipe included, prose kept."""
    body = FRONT_MATTER.sub("", template, count=1)
    for name, render in BLOCKS.items():
        body = replace_block(body, name, render(facts))
    for name in RECIPE_BLOCK.findall(body):
        body = replace_block(body, name, recipe_block(recipes_root / name, facts.repo_id))
    card = DatasetCard(f"---\n{card_data(facts).to_yaml()}\n---\n{body}")
    return str(card)


def recipe_files(root: pathlib.Path = layout.PROJECT_ROOT) -> list[pathlib.Path]:
    """Every recipe of the source repository, each a file the card includes once."""
    return sorted(path for path in (root / RECIPES_DIR).glob("*.py") if path.name != "__init__.py")


def recipe_block(path: pathlib.Path, repo_id: str) -> str:
    """A recipe file as the card shows it: verbatim in a ```python fence, naming the copy's repo id."""
    try:
        code = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(
            f"the card includes {path.name!r}, but {path} does not exist: add the recipe file, or remove the "
            f"card's GENERATED block that names it"
        ) from None
    return f"```python\n{code.replace(layout.REPO_ID, repo_id).rstrip()}\n```"


# --- Generated blocks ----------------------------------------------------------------


def _summary(facts: CardFacts) -> str:
    preview = f"![The first 14 training examples of each class, one class a row]({layout.PREVIEW})"
    return f"{fashion_mnist.DESCRIPTION}\n\n{preview}"


def _labels(facts: CardFacts) -> str:
    splits = list(facts.label_counts)
    lines = ["| label | name | " + " | ".join(splits) + " |", "|---|---|" + "---:|" * len(splits)]
    for label, name in enumerate(fashion_mnist.LABEL_NAMES):
        counts = " | ".join(f"{facts.label_counts[split][label]:,}" for split in splits)
        lines.append(f"| {label} | {name} | {counts} |")
    return "\n".join(lines)


def _splits(facts: CardFacts) -> str:
    lines = ["| config | split | examples | Parquet files | Parquet bytes |", "|---|---|---:|---:|---:|"]
    for config, info in facts.infos.items():
        shard_bytes = facts.parquet_bytes.get(config, {})
        for name, split in info.splits.items():
            files = len(split.shard_lengths or [])
            lines.append(f"| `{config}` | {name} | {split.num_examples:,} | {files} | {shard_bytes.get(name, 0):,} |")
    return "\n".join(lines)


def _fields(facts: CardFacts) -> str:
    rows, columns = fashion_mnist.IMAGE_SHAPE
    return (
        "| config | field | type | meaning |\n|---|---|---|---|\n"
        f"| `{fashion_mnist.NAME}` | `image` | `Image()` | a {rows}x{columns} grayscale (mode `L`) PNG, decoded to "
        "`PIL.Image` |\n"
        f"| `{fashion_mnist.PIXELS}` | `pixels` | `Sequence(Value('uint8'), length={fashion_mnist.NUM_PIXELS})` | "
        f"the same image, row-major (`reshape({rows}, {columns})`); 0 is black, 255 white |\n"
        f"| both | `label` | `ClassLabel` ({len(fashion_mnist.LABEL_NAMES)} names) | the class, 0-9; "
        "`features['label'].int2str(i)` names it |"
    )


def _sources(facts: CardFacts) -> str:
    lines = ["| file | .gz bytes | .gz MD5 |", "|---|---:|---|"]
    lines += [
        f"| `{archive.filename}` | {archive.gz_num_bytes:,} | `{archive.gz_md5}` |"
        for archive in fashion_mnist.ARCHIVES
    ]
    # As `sha256sum` prints them: a reader checks a copy with `gunzip -c FILE | sha256sum`.
    digests = "\n".join(
        f"{archive.raw_sha256}  {archive.filename[: -len('.gz')]}" for archive in fashion_mnist.ARCHIVES
    )
    mirrors = "\n".join(f"- <{base}>" for base in fashion_mnist.MIRRORS)
    return (
        "\n".join(lines)
        + f"\n\nThe decompressed SHA-256 (`gunzip -c FILE | sha256sum`):\n\n```text\n{digests}\n```"
        + f"\n\nMirrors the builder tries, in order:\n\n{mirrors}"
    )


def _citation(facts: CardFacts) -> str:
    return f"```bibtex\n{fashion_mnist.CITATION.strip()}\n```"


BLOCKS = {
    "summary": _summary,
    "labels": _labels,
    "splits": _splits,
    "fields": _fields,
    "sources": _sources,
    "citation": _citation,
}
