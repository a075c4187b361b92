"""scripts/verify.py: passes a good build, and names the difference in each kind of damaged one."""

from __future__ import annotations

import io
import json
import pathlib

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

import fashion_mnist
from scripts import layout, verify

SHARD = layout.shard_path(fashion_mnist.NAME, "train", 1, fashion_mnist.NUM_SHARDS["train"])
PIXELS_SHARD = layout.shard_path(fashion_mnist.PIXELS, "train", 1, fashion_mnist.NUM_SHARDS["train"])


def problems_of(repo: pathlib.Path, table: tuple) -> list[str]:
    with pytest.raises(verify.VerificationError) as excinfo:
        verify.verify_repo(repo, archives=table)
    return excinfo.value.problems


def rerecord(repo: pathlib.Path, relative: str) -> None:
    """Make the checksums describe the file as it now is, as a careless hand edit would."""
    checksums_path = repo / layout.CHECKSUMS
    checksums = json.loads(checksums_path.read_text())
    path = repo / relative
    checksums[relative] = {"num_bytes": path.stat().st_size, "sha256": layout.sha256_file(path)}
    checksums_path.write_text(json.dumps(checksums))


def test_good_build_passes(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, table = synthetic_repo
    passed = verify.verify_repo(repo, archives=table)
    for config in fashion_mnist.FEATURES:
        assert any(f"{config} train images: lossless" in line for line in passed)
        assert any(f"{config} test labels: lossless" in line for line in passed)


def test_tampered_shard_is_named(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, table = synthetic_repo
    with open(repo / SHARD, "ab") as file:
        file.write(b"\0")
    problems = problems_of(repo, table)
    assert any(SHARD in p and "SHA-256" in p and "changed after the build" in p for p in problems)


def test_deleted_shard_is_named(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, table = synthetic_repo
    (repo / SHARD).unlink()
    problems = problems_of(repo, table)
    assert any(p.startswith("fashion_mnist train: expected shards") for p in problems)
    assert any(p.startswith(layout.CHECKSUMS) and SHARD in p and "missing" in p for p in problems)


def test_missing_checksums_are_named(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, table = synthetic_repo
    (repo / layout.CHECKSUMS).unlink()
    problems = problems_of(repo, table)
    assert any(p.startswith(f"{repo / layout.CHECKSUMS}: expected the build's JSON") for p in problems), problems


def test_download_checksums_in_the_infos_are_refused(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    """datasets 2.x and 3.x hold them against the URLs they download: all_checks would fail for their users."""
    repo, table = synthetic_repo
    infos_path = repo / layout.INFOS
    infos = json.loads(infos_path.read_text())
    infos[fashion_mnist.PIXELS]["download_checksums"] = {PIXELS_SHARD: {"num_bytes": 1, "checksum": "x"}}
    infos_path.write_text(json.dumps(infos))
    problems = problems_of(repo, table)
    assert problems == [
        f"pixels: {layout.INFOS} records download_checksums; datasets 2.x and 3.x compare them with the URLs they "
        "download and fail verification_mode='all_checks'; rebuild"
    ]


def test_edited_infos_count_is_named(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, table = synthetic_repo
    infos_path = repo / layout.INFOS
    expected = next(a.num_examples for a in table if a.split == "test" and a.kind == "labels")
    infos = json.loads(infos_path.read_text())
    assert infos[fashion_mnist.PIXELS]["splits"]["test"]["num_examples"] == expected
    infos[fashion_mnist.PIXELS]["splits"]["test"]["num_examples"] = expected + 1
    infos_path.write_text(json.dumps(infos))
    problems = problems_of(repo, table)
    assert any(
        p.startswith(f"pixels test: expected {expected:,} examples") and f"found {expected + 1} in" in p
        for p in problems
    )


def test_yaml_dataset_info_in_the_card_is_refused(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    """It would hide dataset_infos.json's description, citation and the rest from every datasets version."""
    repo, table = synthetic_repo
    card_path = repo / layout.CARD
    card_path.write_text(card_path.read_text().replace("configs:\n", "dataset_info:\n  config_name: x\nconfigs:\n", 1))
    problems = problems_of(repo, table)
    assert any(p.startswith(f"{layout.CARD}: expected no YAML dataset_info") for p in problems), problems


def test_flipped_pixel_fails_the_lossless_proof(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    """A shard re-encoded with one pixel changed, its hash re-recorded: only the lossless proof can tell."""
    repo, table = synthetic_repo
    shard = pq.read_table(repo / SHARD)
    images = shard.column("image").to_pylist()
    pixels = np.asarray(Image.open(io.BytesIO(images[0]["bytes"]))).copy()
    pixels[3, 4] ^= 0xFF
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    images[0] = {"bytes": buffer.getvalue(), "path": None}
    column = pa.array(images, type=shard.schema.field("image").type)
    pq.write_table(shard.set_column(0, "image", column), repo / SHARD, row_group_size=layout.ROW_GROUP_SIZE)
    rerecord(repo, SHARD)
    problems = problems_of(repo, table)
    assert len(problems) == 2, problems
    assert problems[0].startswith(
        "fashion_mnist train images: expected the images read back to reproduce train-images-idx3-ubyte.gz"
    )
    assert problems[1] == (  # image 0 is in the sprite, drawn at twice the size
        f"{layout.PREVIEW}: 4 pixels differ from the sprite the build renders from the shards; rebuild"
    )


def test_changed_raw_pixel_fails_the_lossless_proof(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    """The pixels config, one byte changed and the shard's hash re-recorded: the proof reads the raw values."""
    repo, table = synthetic_repo
    shard = pq.read_table(repo / PIXELS_SHARD)
    rows = shard.column("pixels").to_pylist()
    rows[0][100] ^= 0xFF
    column = pa.array(rows, type=shard.schema.field("pixels").type)
    pq.write_table(shard.set_column(0, "pixels", column), repo / PIXELS_SHARD, row_group_size=layout.ROW_GROUP_SIZE)
    rerecord(repo, PIXELS_SHARD)
    problems = problems_of(repo, table)
    assert len(problems) == 1, problems
    assert problems[0].startswith("pixels train images: expected the images read back to reproduce train-images")


def test_a_config_missing_from_the_card_is_named(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, table = synthetic_repo
    card_path = repo / layout.CARD
    text = card_path.read_text()
    card_path.write_text(text.replace("- config_name: pixels\n", "- config_name: pixels_old\n"))
    problems = problems_of(repo, table)
    assert any("expected configs ['fashion_mnist', 'pixels'] in that order" in p for p in problems), problems


def test_stray_file_and_wrong_features_are_named(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, table = synthetic_repo
    shard = pq.read_table(repo / SHARD)
    pq.write_table(shard.replace_schema_metadata({}), repo / "data" / "extra.parquet")
    problems = problems_of(repo, table)
    assert any("data/extra.parquet" in p and "no split" in p for p in problems)


def test_real_build_is_lossless_against_the_archives(real_repo: pathlib.Path, real_archives: pathlib.Path) -> None:
    passed = verify.verify_repo(real_repo, data_dir=real_archives)
    assert sum("lossless" in line for line in passed) == 4 * len(fashion_mnist.FEATURES)
    assert "pixels train class balance: [6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000]" in passed


def test_cli_exit_codes(
    synthetic_repo: tuple[pathlib.Path, tuple], real_repo: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert verify.main(["--repo-dir", str(real_repo)]) == 0
    assert "checks passed" in capsys.readouterr().out
    synthetic, _ = synthetic_repo  # built from other archives than the official table
    assert verify.main(["--repo-dir", str(synthetic)]) == 1
    assert "do not push this copy" in capsys.readouterr().err


def test_preview_that_is_not_the_builds_sprite_is_named(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, table = synthetic_repo
    sprite = np.asarray(Image.open(repo / layout.PREVIEW))
    Image.fromarray(np.flipud(sprite)).save(repo / layout.PREVIEW)  # a real image of the same size: not the sprite
    assert problems_of(repo, table)[0].startswith(f"{layout.PREVIEW}: ")

    (repo / layout.PREVIEW).write_bytes(b"HF_TOKEN=hf_not_a_png\n")
    [problem] = problems_of(repo, table)
    assert problem.startswith(f"{layout.PREVIEW}: expected the build's PNG sprite, found a file PIL cannot read")


def test_malformed_card_is_named_with_its_line(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, table = synthetic_repo
    card_path = repo / layout.CARD
    lines = card_path.read_text().splitlines(keepends=True)
    broken = lines.index("pretty_name: Fashion-MNIST\n")
    lines[broken] = "pretty_name: [Fashion-MNIST\n"  # an unclosed flow sequence
    card_path.write_text("".join(lines))

    with pytest.raises(verify.CardError, match=rf"^{card_path}, line \d+: the YAML front matter does not parse"):
        verify.load_card(card_path)
    [problem] = problems_of(repo, table)
    assert problem.startswith(f"{card_path}, line ")

    lines[broken] = "pretty_name: Fashion-MNIST: a colon\n"  # "mapping values are not allowed here"
    card_path.write_text("".join(lines))
    with pytest.raises(verify.CardError, match=rf"^{card_path}, line {broken + 1}: .*mapping values are not allowed"):
        verify.load_card(card_path)
