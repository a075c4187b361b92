"""benchmarks/sizes.py on the synthetic archives: the bytes users download, against the archives and each other."""

from __future__ import annotations

from benchmarks import copies, sizes
from benchmarks.harness import Setup


def test_bytes_of_each_config_and_layout(bench_setup: Setup) -> None:
    figures = sizes.measure(bench_setup)
    assert figures.parquet_bytes == copies.parquet_bytes(bench_setup.repo, "fashion_mnist")
    assert figures.gz_bytes == sum(archive.gz_num_bytes for archive in bench_setup.archives)
    assert figures.bytes_ratio_two_configs == (figures.parquet_bytes + figures.parquet_bytes_pixels) / (
        figures.parquet_bytes
    )
    text = sizes.table(figures)
    assert "≤ 1.02: " in text and "≤ 2.1: " in text and f"{figures.parquet_bytes:,}" in text
