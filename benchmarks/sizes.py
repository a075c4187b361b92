"""What users download: each config's Parquet bytes, against the archives, the one-file layout and each other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import fashion_mnist
from benchmarks import report
from benchmarks.copies import parquet_bytes
from benchmarks.harness import Figures, Setup


def measure(setup: Setup) -> Figures:
    image, pixels = (parquet_bytes(setup.repo, config) for config in (fashion_mnist.NAME, fashion_mnist.PIXELS))
    one_shard = parquet_bytes(setup.one_shard, fashion_mnist.NAME)
    gz = sum(archive.gz_num_bytes for archive in setup.archives)
    return {
        "parquet_bytes": image,
        "parquet_bytes_pixels": pixels,
        "parquet_bytes_one_shard": one_shard,
        "gz_bytes": gz,
        "bytes_ratio_vs_gz": image / gz,
        "bytes_ratio_vs_one_shard": image / one_shard,
        "bytes_ratio_two_configs": (image + pixels) / image,
    }


def table(r: Mapping[str, Any]) -> str:
    image = f"{r['parquet_bytes']:,}"
    rows = [
        report.row("`fashion_mnist`", image, f"the .gz archives: {r['gz_bytes']:,}",
                   report.ratio(r["bytes_ratio_vs_gz"]), ""),
        report.row("", "", f"one file per split (the older layout): {r['parquet_bytes_one_shard']:,}",
                   report.ratio(r["bytes_ratio_vs_one_shard"], 3),
                   report.target_verdict(r, "bytes_ratio_vs_one_shard")),
        report.row("both configs", f"{r['parquet_bytes'] + r['parquet_bytes_pixels']:,}",
                   f"`fashion_mnist` alone: {image}", report.ratio(r["bytes_ratio_two_configs"]),
                   report.target_verdict(r, "bytes_ratio_two_configs")),
    ]  # fmt: skip
    return report.comparison_table(rows, subject="config", measure="bytes")
