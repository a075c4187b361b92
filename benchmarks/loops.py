"""The loops more than one section times: the card's streams, bare PIL decoding, and Keras' way to the arrays.

The card's recipes are the files of `recipes/`, imported: the benchmark times the code the card shows, never a copy
of it. A loader yields `(x, y)`, `x` float32 `(n, 1, 28, 28)` in [0, 1].
"""

import gzip
import io
import pathlib
from collections.abc import Iterator, Sequence

import datasets
import numpy as np
import torch
from PIL import Image as PILImage

import fashion_mnist
from recipes import stream_pixels, stream_png

Batches = Iterator[tuple[torch.Tensor, torch.Tensor]]


def pixels_stream_batches(repo: str | pathlib.Path, num_workers: int) -> Batches:
    """`recipes/stream_pixels.py`: the train split streamed, batches made as Arrow tables in the workers."""
    stream = datasets.load_dataset(str(repo), fashion_mnist.PIXELS, split="train", streaming=True)
    yield from stream_pixels.loader(stream, num_workers)


def png_stream_batches(repo: str | pathlib.Path, num_workers: int, split: str = "train") -> Batches:
    """`recipes/stream_png.py`: a split's PNG bytes streamed, each batch decoded in one `map` call."""
    stream = datasets.load_dataset(str(repo), split=split, streaming=True)
    for batch in stream_png.loader(stream, num_workers):
        yield batch["pixel_values"], batch["labels"]


def decode_pngs(pngs: Sequence[bytes]) -> np.ndarray:
    """Bare PIL, image by image: the floor the card's PNG recipes are set against."""
    return np.stack([np.asarray(PILImage.open(io.BytesIO(png))) for png in pngs])


def keras_style_split(
    archive_dir: pathlib.Path, archives: Sequence[fashion_mnist.Archive], split: str
) -> tuple[np.ndarray, np.ndarray]:
    """What Keras' `load_data()` pays: gunzip the split's IDX archives, view the bytes as uint8 arrays."""
    arrays = {}
    for archive in (a for a in archives if a.split == split):
        raw = gzip.decompress((archive_dir / archive.filename).read_bytes())
        arrays[archive.kind] = np.frombuffer(raw, dtype=np.uint8, offset=16 if archive.kind == "images" else 8)
    return arrays["images"].reshape(-1, *fashion_mnist.IMAGE_SHAPE), arrays["labels"]
