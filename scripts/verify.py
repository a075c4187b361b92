"""Audit a built repository before it is pushed; exit non-zero on any difference.

    python -m scripts.verify [--repo-dir DIR] [--data-dir DIR]

Checks that the shards are the ones the card's `configs` name, that the card, the
infos and the files agree (counts, sizes, hashes, row groups, features), and proves
the copy lossless: decoding every image of a split and laying the pixels out as an
IDX file gives the SHA-256 of the original archive's decompressed content, and so do
the labels. With `--data-dir`, the archives there are checked against the same table.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import io
import json
import os
import pathlib
import struct
import sys
from collections.abc import Sequence

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard
from huggingface_hub.repocard import REGEX_YAML_BLOCK
from PIL import Image

import fashion_mnist
from scripts import layout, preview, repo_lock


class VerificationError(Exception):
    """The built repository differs from what it should be; `problems` lists each difference."""

    def __init__(self, repo_dir: pathlib.Path, problems: list[str]) -> None:
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(
            f"{repo_dir} failed verification ({len(problems)} problem(s)):\n{listing}\n"
            "Rebuild with `python -m scripts.build` and verify again; do not push this copy."
        )


class CardError(ValueError):
    """The card's YAML front matter does not parse; the message names the file and the line."""


def load_card(path: str | os.PathLike) -> DatasetCard:
    """`DatasetCard.load`, with a YAML error reported as `FILE, line N: problem` instead of a yaml traceback."""
    path = pathlib.Path(path)
    try:
        return DatasetCard.load(path)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        text = path.read_text(encoding="utf-8")
        match = REGEX_YAML_BLOCK.search(text)
        where = f", line {mark.line + 1 + match.group(1).count(chr(10))}" if mark is not None and match else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise CardError(f"{path}{where}: the YAML front matter does not parse: {problem}") from error
    except ValueError as error:  # e.g. front matter that is not a mapping
        raise CardError(f"{path}: {error}") from error


def preview_problem(repo_dir: pathlib.Path, train_files: Sequence[str]) -> str | None:
    """Why `data/preview.png` is not the build's own sprite (None if it is).

    The build renders the sprite from the first `preview.PER_CLASS` examples of each class of
    the train split; rendering it again from the shards must give the same pixels. A file
    that is anything else (another image, a secret behind a symlink) is refused.
    """
    path = repo_dir / layout.PREVIEW
    table = pa.concat_tables(pq.read_table(repo_dir / relative, columns=["image", "label"]) for relative in train_files)
    pngs = table.column("image").combine_chunks().field("bytes")

    def decoded(indices: np.ndarray) -> np.ndarray:
        return np.stack([decode_png(png) for png in pngs.take(pa.array(indices, pa.int64())).to_pylist()])

    expected = np.asarray(preview.sprite_of(table.column("label").to_numpy(), decoded, fashion_mnist.LABEL_NAMES))
    try:
        with Image.open(path) as image:
            found = np.asarray(image.convert("L"))
    except (OSError, ValueError) as error:
        return f"{layout.PREVIEW}: expected the build's PNG sprite, found a file PIL cannot read ({error})"
    if found.shape != expected.shape:
        sizes = f"expected {expected.shape[1]}x{expected.shape[0]} pixels, found {found.shape[1]}x{found.shape[0]}"
        return f"{layout.PREVIEW}: not the sprite the build renders from the shards ({sizes}); rebuild"
    if not np.array_equal(found, expected):
        differing = int((found != expected).sum())
        return f"{layout.PREVIEW}: {differing} pixels differ from the sprite the build renders from the shards; rebuild"
    return None


def verify_repo(
    repo_dir: str | pathlib.Path = layout.PROJECT_ROOT,
    *,
    archives: Sequence[fashion_mnist.Archive] = fashion_mnist.ARCHIVES,
    data_dir: str | pathlib.Path | None = None,
) -> list[str]:
    """Run every check; return what was checked, or raise `VerificationError` listing what failed."""
    repo_dir = pathlib.Path(repo_dir)
    audit = Audit(repo_dir, archives)
    if data_dir is not None:
        audit.check_archives(pathlib.Path(data_dir))
    with repo_lock.reading(repo_dir):  # a build's commit is seen whole: finished first if a kill cut it short
        audit.run()
    if audit.problems:
        raise VerificationError(repo_dir, audit.problems)
    return audit.passed


class Audit:
    """The checks, in order; each adds to `problems` or `passed` and later checks use what earlier ones read."""

    def __init__(self, repo_dir: pathlib.Path, archives: Sequence[fashion_mnist.Archive]) -> None:
        self.repo_dir = repo_dir
        self.archives = archives
        self.problems: list[str] = []
        self.passed: list[str] = []

    def check(self, ok: bool, passed: str, problem: str) -> bool:
        (self.passed if ok else self.problems).append(passed if ok else problem)
        return ok

    def run(self) -> None:
        config_names, config_files = self.check_card()
        if config_names is None or config_files is None:
            return
        infos = self.check_infos(config_names)
        if infos is None:
            return
        if self.check_shard_files(infos, config_files):
            for config, split_files in config_files.items():
                for split, files in split_files.items():
                    self.check_lossless(config, split, files)
            image_train = config_files[fashion_mnist.NAME].get("train")
            if image_train:
                problem = preview_problem(self.repo_dir, image_train)
                self.check(
                    problem is None, f"{layout.PREVIEW} is the sprite the build renders from the shards", problem
                )

    def check_archives(self, data_dir: pathlib.Path) -> None:
        """The archives in `data_dir` must be the ones the table describes (content-wise)."""
        for archive in self.archives:
            path = data_dir / archive.filename
            try:
                fashion_mnist.read_archive(path.read_bytes(), archive, f"data_dir {data_dir}")
            except (OSError, fashion_mnist.FashionMnistError) as error:
                self.problems.append(f"archive {path}: {error}")
            else:
                self.passed.append(f"archive {archive.filename} in {data_dir} has the expected content")

    def check_card(self) -> tuple[list[str] | None, dict[str, dict[str, list[str]]] | None]:
        """The card parses, lists the builder's configs (the default first) and no `dataset_info`; shards in sequence.

        A YAML `dataset_info` would replace the matching entry of `dataset_infos.json` whole on
        every datasets version, and with it the description, citation, homepage, license and
        supervised keys, which only the JSON can carry.
        """
        card_path = self.repo_dir / layout.CARD
        try:
            card = load_card(card_path)
            configs = MetadataConfigs.from_dataset_card_data(card.data)
        except CardError as error:  # names the file and the line
            self.problems.append(f"{error}; rebuild it")
            return None, None
        except (OSError, ValueError) as error:
            self.problems.append(f"{card_path}: the card does not parse ({error}); rebuild it")
            return None, None
        expected = list(fashion_mnist.FEATURES)
        default = [name for name, config in configs.items() if config.get("default")]
        if not self.check(
            list(configs) == expected and default == [fashion_mnist.NAME],
            f"{layout.CARD} describes the configs {expected}, {fashion_mnist.NAME!r} first and the default",
            f"{layout.CARD}: expected configs {expected} in that order with {fashion_mnist.NAME!r} the default, "
            f"found {list(configs)} (default {default})",
        ):
            return None, None
        self.check(
            "dataset_info" not in card.data.to_dict(),
            f"{layout.CARD} has no YAML dataset_info, so {layout.INFOS} reaches every datasets version whole",
            f"{layout.CARD}: expected no YAML dataset_info (it hides {layout.INFOS}'s description, citation, "
            "homepage, license and supervised keys from datasets); rebuild the card",
        )
        present = sorted(
            str(path.relative_to(self.repo_dir)) for path in (self.repo_dir / layout.DATA_DIR).glob("**/*.parquet")
        )
        config_files = {}
        for name, config in configs.items():
            patterns = {entry["split"]: entry["path"] for entry in config.get("data_files", [])}
            config_files[name] = {
                split: [p for p in present if fnmatch.fnmatch(p, pattern)] for split, pattern in patterns.items()
            }
            for split, files in config_files[name].items():
                count = len(files)
                expected_files = [layout.shard_path(name, split, index, count) for index in range(count)]
                self.check(
                    count > 0 and files == expected_files,
                    f"{name} {split}: {count} shards, {files[0] if files else ''} .. {files[-1] if files else ''}",
                    f"{name} {split}: expected shards {split}-00000-of-N .. {split}-(N-1)-of-N matching "
                    f"{patterns[split]!r}, found {files or 'none'}",
                )
        claimed = {p for split_files in config_files.values() for files in split_files.values() for p in files}
        self.check(
            set(present) == claimed,
            f"every Parquet file under {layout.DATA_DIR}/ belongs to a split of a config in the card",
            f"{layout.DATA_DIR}/: files no split of the card's configs names: {sorted(set(present) - claimed)}",
        )
        return list(configs), config_files

    def check_infos(self, config_names: list[str]) -> dict[str, datasets.DatasetInfo] | None:
        """`dataset_infos.json`: an entry per config of the card, the builder's metadata, the archives' counts."""
        infos_path = self.repo_dir / layout.INFOS
        try:
            raw = json.loads(infos_path.read_text(encoding="utf-8"))
            infos = {name: datasets.DatasetInfo.from_dict(raw[name]) for name in config_names}
        except (OSError, ValueError, KeyError) as error:
            self.problems.append(f"{infos_path}: expected JSON with an entry for each of {config_names} ({error!r})")
            return None
        self.check(
            list(raw) == config_names,
            f"{layout.INFOS} has exactly the card's configs {config_names}",
            f"{layout.INFOS}: expected entries {config_names} (one entry would be renamed 'default' by datasets), "
            f"found {list(raw)}",
        )
        for name in config_names:
            info = infos[name]
            expected = fashion_mnist.dataset_info(name)
            for field in ("features", "description", "citation", "homepage", "license", "supervised_keys"):
                self.check(
                    getattr(info, field) == getattr(expected, field),
                    f"{name}: {layout.INFOS} has the builder's {field}",
                    f"{name}: {layout.INFOS} {field} {getattr(info, field)!r} differs from the builder's "
                    f"{getattr(expected, field)!r}",
                )
            for archive in (a for a in self.archives if a.kind == "labels"):
                split = info.splits.get(archive.split)
                self.check(
                    split is not None and split.num_examples == archive.num_examples,
                    f"{name} {archive.split}: {archive.num_examples:,} examples in {layout.INFOS} and the archives",
                    f"{name} {archive.split}: expected {archive.num_examples:,} examples (the archives'), found "
                    f"{split.num_examples if split else None} in {layout.INFOS}",
                )
        return infos

    def check_shard_files(
        self, infos: dict[str, datasets.DatasetInfo], config_files: dict[str, dict[str, list[str]]]
    ) -> bool:
        """Each shard has the size and hash `layout.CHECKSUMS` records, the rows its split's `shard_lengths` say,
        1,000-row groups and its config's features."""
        recorded = self.read_checksums()
        if recorded is None:
            return False
        present = sorted(
            path for split_files in config_files.values() for files in split_files.values() for path in files
        )
        ok = self.check(
            sorted(recorded) == present,
            f"{layout.CHECKSUMS} records exactly the {len(present)} shards present",
            f"{layout.CHECKSUMS} records {sorted(set(recorded) - set(present)) or 'nothing extra'} that are "
            f"missing and lacks {sorted(set(present) - set(recorded)) or 'nothing'} that are present",
        )
        for name, split_files in config_files.items():
            info = infos[name]
            self.check(
                info.download_checksums is None,
                f"{name}: {layout.INFOS} records no download_checksums, so all_checks passes on every datasets version",
                f"{name}: {layout.INFOS} records download_checksums; datasets 2.x and 3.x compare them with the URLs "
                "they download and fail verification_mode='all_checks'; rebuild",
            )
            for split, paths in split_files.items():
                lengths = info.splits[split].shard_lengths if split in info.splits else None
                for index, relative in enumerate(paths):
                    expected_rows = lengths[index] if lengths and index < len(lengths) else None
                    ok &= self.check_shard(name, relative, recorded.get(relative, {}), expected_rows)
        return ok

    def read_checksums(self) -> dict[str, dict] | None:
        """`layout.CHECKSUMS`: shard path -> {num_bytes, sha256}; None (and a problem) if it is missing or malformed."""
        path = self.repo_dir / layout.CHECKSUMS
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
            if not all(isinstance(record, dict) for record in recorded.values()):
                raise ValueError("every entry must be an object with num_bytes and sha256")
        except (OSError, ValueError, AttributeError) as error:
            self.problems.append(f"{path}: expected the build's JSON of shard sizes and SHA-256 ({error}); rebuild")
            return None
        return recorded

    def check_shard(self, config: str, relative: str, record: dict, expected_rows: int | None) -> bool:
        """One shard: size and hash as `layout.CHECKSUMS` records, row count, row-group size, its features."""
        path = self.repo_dir / relative
        size, digest = path.stat().st_size, layout.sha256_file(path)
        ok = self.check(
            (size, digest) == (record.get("num_bytes"), record.get("sha256")),
            f"{relative}: {size:,} bytes, SHA-256 as recorded",
            f"{relative}: expected {record.get('num_bytes')} bytes with SHA-256 {record.get('sha256')}, "
            f"found {size} bytes with SHA-256 {digest}: the file changed after the build",
        )
        try:
            metadata = pq.ParquetFile(path).metadata
            features = datasets.Features.from_arrow_schema(metadata.schema.to_arrow_schema())
        except (OSError, pa.ArrowException) as error:
            self.problems.append(f"{relative}: expected a readable Parquet file, found an unreadable one ({error})")
            return False
        groups = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        ok &= self.check(
            metadata.num_rows == expected_rows and max(groups, default=0) <= layout.ROW_GROUP_SIZE,
            f"{relative}: {metadata.num_rows:,} rows in groups of at most {layout.ROW_GROUP_SIZE:,}",
            f"{relative}: expected {expected_rows} rows in groups of at most {layout.ROW_GROUP_SIZE}, "
            f"found {metadata.num_rows} rows in groups of {sorted(set(groups))}",
        )
        expected = fashion_mnist.FEATURES[config]
        return ok & self.check(
            features == expected,
            f"{relative}: schema metadata carries the builder's features",
            f"{relative}: expected features {expected}, found {features} in the schema metadata",
        )

    def check_lossless(self, config: str, split: str, files: list[str]) -> None:
        """Read every image back (decoding the PNGs, or the raw pixels) and compare the IDX bytes with the archives'."""
        column = "image" if config == fashion_mnist.NAME else "pixels"
        images, labels = [], []
        for relative in files:
            data = pq.read_table(self.repo_dir / relative, columns=[column, "label"])
            images.append(read_images(data.column(column).combine_chunks()))
            labels.append(data.column("label").to_numpy())
        pixels = np.concatenate(images) if images else np.zeros((0, *fashion_mnist.IMAGE_SHAPE), np.uint8)
        label_values = np.concatenate(labels)
        by_kind = {a.kind: a for a in self.archives if a.split == split}
        for kind, array in (("images", pixels), ("labels", label_values)):
            archive = by_kind[kind]
            in_range = array.dtype == np.uint8 or (array.min(initial=0) >= 0 and array.max(initial=0) <= 255)
            digest = (
                idx_sha256(array.astype(np.uint8), fashion_mnist.IDX_MAGIC[kind]) if in_range else "out-of-range values"
            )
            self.check(
                digest == archive.raw_sha256,
                f"{config} {split} {kind}: lossless, the {kind} read back hash to {archive.filename}'s content",
                f"{config} {split} {kind}: expected the {kind} read back to reproduce {archive.filename} (SHA-256 "
                f"{archive.raw_sha256}), found {digest}: the shards do not hold the original {kind}",
            )
        counts = (
            np.bincount(label_values, minlength=len(fashion_mnist.LABEL_NAMES)).tolist() if len(label_values) else []
        )
        self.passed.append(f"{config} {split} class balance: {counts}")


def read_images(column: pa.Array) -> np.ndarray:
    """`(n, 28, 28)` uint8 images from an `image` column (PNG structs, decoded) or a `pixels` column (raw)."""
    if pa.types.is_struct(column.type):
        pngs = column.field("bytes").to_pylist()
        return np.stack([decode_png(png) for png in pngs]) if pngs else np.zeros((0, 28, 28), np.uint8)
    values = column.flatten().to_numpy()
    return values.reshape(len(column), *fashion_mnist.IMAGE_SHAPE)


def decode_png(png: bytes) -> np.ndarray:
    """PIL-decode one image to its (28, 28) uint8 pixels, whatever mode it was stored in."""
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("L") if image.mode != "L" else image)


def idx_sha256(array: np.ndarray, magic: int) -> str:
    """SHA-256 of the IDX file holding `array`: what the archives' decompressed content hashes to."""
    digest = hashlib.sha256(struct.pack(f">{1 + array.ndim}I", magic, *array.shape))
    digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo-dir", default=str(layout.PROJECT_ROOT), help="the built repository (default: this one)")
    parser.add_argument("--data-dir", help="also check the original archives in this directory")
    args = parser.parse_args(argv)
    try:
        passed = verify_repo(args.repo_dir, data_dir=args.data_dir)
    except VerificationError as error:
        print(error, file=sys.stderr)
        return 1
    print("\n".join(f"ok  {line}" for line in passed))
    print(f"{args.repo_dir}: all {len(passed)} checks passed; the copy is complete and lossless.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
