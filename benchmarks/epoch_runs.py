"""The epochs section's program: `python -m benchmarks.epoch_runs SPEC_JSON`, with the python of an environment
that holds torchvision, the checkout on PYTHONPATH. It times the real torchvision beside the card's recipes, taking
turns, and prints each run's median seconds as one JSON line. SPEC: `benchmarks.epochs.measure`'s.
"""

import gzip
import json
import pathlib
import struct
import sys
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import datasets
import numpy as np
import torch
import torchvision
from torchvision.transforms import ToTensor

import fashion_mnist
from benchmarks import loops
from benchmarks.harness import epoch_seconds, interleaved_medians, quiet_datasets, seconds
from recipes import dataloader_png, torch_in_memory

BATCH = 256


def torchvision_train_split(spec: Mapping[str, Any]) -> torchvision.datasets.FashionMNIST:
    """torchvision's `FashionMNIST(train=True, transform=ToTensor())` over the archives, gunzipped where it looks
    (its download would check the official MD5s, which the tests' synthetic archives do not have)."""
    raw = pathlib.Path(spec["root"]) / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for filename in spec["archives"]:
        (raw / filename.removesuffix(".gz")).write_bytes(gzip.decompress((spec["archive_dir"] / filename).read_bytes()))
    return torchvision.datasets.FashionMNIST(spec["root"], train=True, transform=ToTensor())


def plain_loader(split: datasets.Dataset, num_workers: int) -> loops.Batches:
    """`DataLoader(ds.with_format("torch"), 256, shuffle=True)`: what users write without reading the card."""
    column = "pixels" if "pixels" in split.column_names else "image"
    loader = torch.utils.data.DataLoader(split.with_format("torch"), BATCH, shuffle=True, num_workers=num_workers)
    for batch in loader:
        yield batch[column].view(-1, 1, *fashion_mnist.IMAGE_SHAPE).float().div(255), batch["label"]


def png_dataloader(split: datasets.Dataset, num_workers: int) -> loops.Batches:
    """`recipes/dataloader_png.py`: the workers decode a whole batch of PNG bytes in one transform."""
    for batch in dataloader_png.loader(split, num_workers):
        yield batch["pixel_values"], batch["labels"]


def decode_zlib(pngs: list[bytes]) -> np.ndarray:
    """A filter-0, one-IDAT, 8-bit grayscale PNG (what the builder writes) is zlib over rows each led by a 0 byte."""
    rows = []
    for data in pngs:
        (length,) = struct.unpack(">I", data[33:37])  # the IDAT chunk right after the 25-byte IHDR chunk
        rows.append(zlib.decompress(data[41 : 41 + length]))
    return np.frombuffer(b"".join(rows), np.uint8).reshape(-1, 28, 29)[:, :, 1:]


def runs(spec: Mapping[str, Any]) -> dict[str, Callable[[], float]]:
    """name -> one timed epoch of the train split; every loader's data is made before the clock, as in training."""
    ours = torchvision_train_split(spec)
    load = {"cache_dir": spec["cache_dir"], "split": "train"}
    images = datasets.load_dataset(spec["repo"], **load)
    pixels = datasets.load_dataset(spec["repo"], fashion_mnist.PIXELS, **load)
    tensors = torch_in_memory.to_tensors(pixels)
    pngs = [image["bytes"] for image in images.cast_column("image", datasets.Image(decode=False))["image"]]
    if not np.array_equal(loops.decode_pngs(pngs), decode_zlib(pngs)):
        raise RuntimeError("the zlib decode of the PNGs differs from PIL's: the builder's PNGs changed shape")
    n = len(pixels)

    def torchvision_epoch(workers: int) -> float:
        return epoch_seconds(torch.utils.data.DataLoader(ours, BATCH, shuffle=True, num_workers=workers), n)

    chosen = {
        "torchvision_2w": lambda: torchvision_epoch(2),
        "pixels_plain": lambda: epoch_seconds(plain_loader(pixels, 2), n),
        "pixels_card": lambda: epoch_seconds(torch_in_memory.shuffled_batches(*tensors), n),
        "image_plain": lambda: epoch_seconds(plain_loader(images, 2), n),
        "image_card": lambda: epoch_seconds(png_dataloader(images, 2), n),
        "decode_pil": lambda: seconds(lambda: loops.decode_pngs(pngs)),
        "decode_zlib": lambda: seconds(lambda: decode_zlib(pngs)),
    }
    if spec["long"]:
        chosen["torchvision_0w"] = lambda: torchvision_epoch(0)
    streams = {
        "pixels": lambda w: loops.pixels_stream_batches(spec["repo"], w),
        "image": lambda w: loops.png_stream_batches(spec["repo"], w),
        "one_shard": lambda w: loops.png_stream_batches(spec["one_shard"], w),
    }
    for name, worker_counts in spec["streams"].items():  # the streams and worker counts `epochs.measure` chose
        for workers in worker_counts:
            chosen[f"{name}_{workers}w"] = lambda b=streams[name], w=workers: epoch_seconds(b(w), n)
    return chosen


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    spec["archive_dir"] = pathlib.Path(spec["archive_dir"])
    quiet_datasets()
    medians = interleaved_medians(runs(spec), spec["repeat"])
    versions = {"torchvision": torchvision.__version__, "torch": torch.__version__, "datasets": datasets.__version__}
    print(json.dumps({"versions": versions, "seconds": medians}))
