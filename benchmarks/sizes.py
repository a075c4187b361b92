"""What users download: each config's Parquet bytes, against the archives, the one-file layout and each other."""

import dataclasses

import fashion_mnist
from benchmarks import copies, harness, report


@dataclasses.dataclass(frozen=True)
class ByteFigures:
    parquet_bytes: int  # `fashion_mnist`
    parquet_bytes_pixels: int
    parquet_bytes_one_shard: int  # `fashion_mnist` in the older layout
    gz_bytes: int  # the four archives
    bytes_ratio_vs_gz: float
    bytes_ratio_vs_one_shard: float
    bytes_ratio_two_configs: float


def measure(setup: harness.Setup) -> ByteFigures:
    image, pixels = (copies.parquet_bytes(setup.repo, config) for config in (fashion_mnist.NAME, fashion_mnist.PIXELS))
    one_shard = copies.parquet_bytes(setup.one_shard, fashion_mnist.NAME)
    gz = sum(archive.gz_num_bytes for archive in setup.archives)
    return ByteFigures(image, pixels, one_shard, gz, image / gz, image / one_shard, (image + pixels) / image)


def table(f: ByteFigures) -> str:
    image, archives = f"{f.parquet_bytes:,}", f"the .gz archives: {f.gz_bytes:,}"
    rows = [
        report.row("`fashion_mnist`", image, archives, *report.judged(f, ("bytes", "bytes_ratio_vs_gz"))),
        report.row("", "", f"one file per split (the older layout): {f.parquet_bytes_one_shard:,}",
                   *report.judged(f, ("bytes", "bytes_ratio_vs_one_shard"), digits=3)),
        report.row("both configs", f"{f.parquet_bytes + f.parquet_bytes_pixels:,}", f"`fashion_mnist` alone: {image}",
                   *report.judged(f, ("bytes", "bytes_ratio_two_configs"))),
    ]  # fmt: skip
    return report.comparison_table(rows, subject="config", measure="bytes")
