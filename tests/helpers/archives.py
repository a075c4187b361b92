"""The original archives as the tests hold the copy to them: a split's arrays, and its examples as a multiset.

An example is `(label, pixel digest)`: the digest of its 28x28 uint8 pixels is the same for
the archives' arrays, the Hub copy's PNGs and a model input scaled back to uint8, so a test
compares what a stream, a rank or a worker gave with the archives by `collections.Counter`.
"""

from __future__ import annotations

import collections
import hashlib
import os
import pathlib

import numpy as np

import fashion_mnist
from tests.helpers.synthetic import read_idx_gz


def pixel_digest(image: object) -> str:
    """SHA-1 of an image's decoded pixels: the same for the archives' arrays and the Hub copy's PNGs."""
    return hashlib.sha1(np.ascontiguousarray(np.asarray(image, dtype=np.uint8)).tobytes()).hexdigest()


def model_input_examples(pixel_values: object, labels: object) -> list[tuple[int, str]]:
    """`(label, pixel digest)` of each example of a batch of model inputs (torch tensors): the float pixels in
    [0, 1] scaled back to the archives' uint8, so they compare with `split_examples`."""
    pixels = (pixel_values.detach().numpy() * 255).round().astype(np.uint8).reshape(-1, *fashion_mnist.IMAGE_SHAPE)
    return list(zip(labels.tolist(), map(pixel_digest, pixels), strict=True))


def split_arrays(archive_dir: str | os.PathLike, split: str) -> tuple[np.ndarray, np.ndarray]:
    """A split's images `(n, 28, 28)` and labels `(n,)`, parsed from its two archives with gzip and numpy only."""
    images, labels = (
        read_idx_gz((pathlib.Path(archive_dir) / archive.filename).read_bytes())
        for kind in ("images", "labels")
        for archive in fashion_mnist.ARCHIVES
        if (archive.split, archive.kind) == (split, kind)
    )
    return images, labels


def split_examples(archive_dir: str | os.PathLike, split: str) -> collections.Counter[tuple[int, str]]:
    """A split as a multiset of `(label, pixel digest)`."""
    images, labels = split_arrays(archive_dir, split)
    return collections.Counter(zip(labels.tolist(), map(pixel_digest, images), strict=True))
