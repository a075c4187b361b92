"""Streaming throughput of the Hub copy into a torch DataLoader, in examples per second, by number of workers.

    python scripts/stream_throughput.py --repo-dir DIR             # serve DIR's upload set on a local Hub first
    python scripts/stream_throughput.py --repo-id org/fashion_mnist  # the Hub at HF_ENDPOINT as it is

Each run streams a whole split the way a training loop would: Parquet shards read over
HTTP, PNGs decoded to float arrays in the workers, batches collated to tensors. The
local-Hub mode needs olah (the `test` extra) and runs the same server the tests use.
Timings are for reporting, so this stays out of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import pathlib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence

if __package__ in (None, ""):  # run as `python scripts/stream_throughput.py`
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import datasets
import numpy as np
import torch

LOCAL_REPO_ID = "org/fashion_mnist"


@dataclasses.dataclass(frozen=True)
class Throughput:
    num_workers: int
    examples: int
    seconds: list[float]  # one per repeat

    @property
    def examples_per_second(self) -> float:
        return self.examples / statistics.median(self.seconds)

    def describe(self) -> str:
        runs = ", ".join(f"{seconds:.2f}" for seconds in self.seconds)
        return (
            f"num_workers={self.num_workers}: {self.examples_per_second:,.0f} examples/s "
            f"({self.examples:,} examples; seconds per run: {runs})"
        )


def to_arrays(batch: dict[str, list]) -> dict[str, np.ndarray]:
    """PIL images -> float pixels [N, 1, 28, 28]: the decoding a training loop pays for."""
    pixels = np.stack([np.asarray(image, dtype=np.float32) for image in batch["image"]]) / 255.0
    return {"pixel_values": pixels[:, None], "labels": np.asarray(batch["label"], dtype=np.int64)}


def stream_once(repo_id: str, split: str, num_workers: int, batch_size: int) -> tuple[int, float]:
    """Stream the whole split once; return (examples, seconds), DataLoader worker start-up included."""
    stream = datasets.load_dataset(repo_id, split=split, streaming=True)
    stream = stream.map(to_arrays, batched=True, remove_columns=["image", "label"]).with_format("torch")
    loader = torch.utils.data.DataLoader(stream, batch_size=batch_size, num_workers=num_workers)
    started = time.perf_counter()
    examples = sum(len(batch["labels"]) for batch in loader)
    return examples, time.perf_counter() - started


def measure(repo_id: str, split: str, num_workers: int, *, batch_size: int = 256, repeats: int = 3) -> Throughput:
    runs = [stream_once(repo_id, split, num_workers, batch_size) for _ in range(repeats)]
    return Throughput(num_workers, runs[0][0], [seconds for _, seconds in runs])


@contextlib.contextmanager
def local_hub_serving(repo_dir: pathlib.Path) -> Iterator[str]:
    """Serve `repo_dir`'s upload set as `org/fashion_mnist` on the tests' local Hub; yield the repo id."""
    from scripts.push_to_hub import upload_set
    from tests.local_hub import LocalHub, clients_pointed_at

    with tempfile.TemporaryDirectory(prefix="stream-throughput-") as root, LocalHub(root) as hub:
        hub.publish(LOCAL_REPO_ID, upload_set(repo_dir))
        with clients_pointed_at(hub.endpoint):
            yield LOCAL_REPO_ID


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--repo-dir", type=pathlib.Path, help="a built Hub copy to serve on a local Hub")
    where.add_argument("--repo-id", help="a dataset repo on the Hub at HF_ENDPOINT")
    parser.add_argument("--split", default="train", choices=["train", "test"])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="DataLoader num_workers to compare")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3, help="runs per setting; the median is reported")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    datasets.disable_progress_bars()
    hub = local_hub_serving(args.repo_dir) if args.repo_dir else contextlib.nullcontext(args.repo_id)
    with hub as repo_id:
        for num_workers in args.workers:
            result = measure(repo_id, args.split, num_workers, batch_size=args.batch_size, repeats=args.repeats)
            print(f"{repo_id} {args.split}: {result.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
