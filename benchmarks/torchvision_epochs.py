"""The timed program of the torchvision section: real torchvision beside the card's recipes, in one process.

It runs with the python of an environment holding torchvision (torchvision 0.29 needs torch
2.14, which the project's environment does not hold), with the checkout on PYTHONPATH (set by
`benchmarks/torchvision_peer.py`) for `recipes/` alone, and prints JSON:

    python benchmarks/torchvision_epochs.py SPEC_JSON

SPEC_JSON: {"mirror": base URL of the four archives, "root": a fresh directory, "train_files": config -> the
built copy's train shards (a glob), "repeat": rounds, "download_only": stop after the download}.
First `FashionMNIST(root, download=True, transform=ToTensor())` downloads from the mirror
(timed: its MD5 check and gunzip included); then, taking turns for `repeat` rounds, an epoch
of each loop (batches of 256, shuffled): torchvision's `DataLoader` with 2 workers, the
card's `pixels` in-memory recipe, its PNG `DataLoader` recipe, both stream recipes (local
files) and the plain `with_format("torch")` `DataLoader`s; and a PNG decode of the train
split, PIL image by image and zlib in one pass (what the builder's filter-0 PNGs allow).
"""

from __future__ import annotations

import io
import json
import statistics
import struct
import sys
import time
import zlib
from collections.abc import Callable

import datasets
import numpy as np
import torch
import torchvision
from PIL import Image as PILImage
from torchvision.transforms import ToTensor

from recipes import dataloader_png, stream_pixels, stream_png, torch_in_memory

BATCH = 256


def epoch(batches: object) -> int:
    return sum(1 for _ in batches)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def split_files(spec: dict, config: str) -> dict[str, str]:
    return {"train": spec["train_files"][config]}


def loops(spec: dict) -> dict[str, Callable[[], object]]:
    """name -> one epoch of the train split; every loader is made before the clock starts, as in training."""
    ours = torchvision.datasets.FashionMNIST(spec["root"], train=True, transform=ToTensor())
    pixels = datasets.load_dataset("parquet", data_files=split_files(spec, "pixels"), split="train")
    png = datasets.load_dataset("parquet", data_files=split_files(spec, "fashion_mnist"), split="train")
    images, labels = torch_in_memory.to_tensors(pixels)

    def stream(config: str) -> datasets.IterableDataset:
        return datasets.load_dataset("parquet", data_files=split_files(spec, config), split="train", streaming=True)

    def torch_loader(split: datasets.Dataset) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(split.with_format("torch"), batch_size=BATCH, shuffle=True, num_workers=2)

    return {
        "torchvision": lambda: epoch(torch.utils.data.DataLoader(ours, BATCH, shuffle=True, num_workers=2)),
        "pixels_in_memory": lambda: epoch(torch_in_memory.shuffled_batches(images, labels)),
        "png_dataloader": lambda: epoch(dataloader_png.loader(png)),
        "pixels_stream": lambda: epoch(stream_pixels.loader(stream("pixels"))),
        "png_stream": lambda: epoch(stream_png.loader(stream("fashion_mnist"))),
        "pixels_with_format": lambda: epoch(torch_loader(pixels)),
        "png_with_format": lambda: epoch(torch_loader(png)),
        "decode_pil": lambda: decode_pil(png),
        "decode_zlib": lambda: decode_zlib(png),
    }


def png_bytes(split: datasets.Dataset) -> list[bytes]:
    return [image["bytes"] for image in split.cast_column("image", datasets.Image(decode=False))["image"]]


def decode_pil(split: datasets.Dataset) -> np.ndarray:
    return np.stack([np.asarray(PILImage.open(io.BytesIO(data))) for data in png_bytes(split)])


def decode_zlib(split: datasets.Dataset) -> np.ndarray:
    """A filter-0, one-IDAT, 8-bit grayscale PNG (what the builder writes) is zlib over rows each led by a 0 byte."""
    rows = []
    for data in png_bytes(split):
        (length,) = struct.unpack(">I", data[33:37])  # the IDAT chunk right after the 25-byte IHDR chunk
        rows.append(zlib.decompress(data[41 : 41 + length]))
    return np.frombuffer(b"".join(rows), np.uint8).reshape(-1, 28, 29)[:, :, 1:]


def main() -> int:
    spec = json.loads(sys.argv[1])
    datasets.disable_progress_bars()
    torchvision.datasets.FashionMNIST.mirrors = [spec["mirror"]]
    download = timed(lambda: torchvision.datasets.FashionMNIST(spec["root"], download=True, transform=ToTensor()))
    if spec.get("download_only"):  # a first use over the network: the epochs are measured on loopback
        print(json.dumps({"download_seconds": download}))
        return 0
    runs = loops(spec)
    png = datasets.load_dataset("parquet", data_files=split_files(spec, "fashion_mnist"))
    assert np.array_equal(decode_pil(png["train"]), decode_zlib(png["train"])), "the two PNG decodes differ"
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(spec["repeat"]):
        for name, run in runs.items():
            times[name].append(timed(run))
    report = {"torchvision": torchvision.__version__, "torch": torch.__version__, "datasets": datasets.__version__}
    report |= {"download_seconds": download, "epoch_seconds": {name: statistics.median(t) for name, t in times.items()}}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
