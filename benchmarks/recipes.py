"""This copy's recipes, as the card's usage section writes them, for `python -m benchmarks` to time.

Each function is one snippet of `scripts/card.py` (`_usage`), or the plain code a user
writes without reading the card; keep the two in step (the tests run the card's own
text). Every loader here yields what a model takes: `(x, y)` with `x` float32 of shape
`(n, 1, 28, 28)` in [0, 1] and `y` int64, the same as `benchmarks.peers`' torchvision loop,
so the epochs compared do the same work.
"""

from __future__ import annotations

import io
import pathlib
from collections.abc import Iterator

import datasets
import numpy as np
import pyarrow as pa
import torch
from PIL import Image as PILImage

import fashion_mnist

BATCH_SIZE = 256
SHUFFLE_BUFFER = 10_000
Batches = Iterator[tuple[torch.Tensor, torch.Tensor]]

# --- The whole split as arrays -----------------------------------------------------------


def pixels_array(split: datasets.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Card, `pixels` config: one uint8 `(n, 28, 28)` array and the labels; no decoding at all.

    `dtype=np.uint8` matters: `datasets`' numpy formatter widens integer columns to int64
    otherwise (8x the memory, 2-3x the time).
    """
    rows = split.with_format("numpy", dtype=np.uint8)[:]
    return rows["pixels"].reshape(-1, *fashion_mnist.IMAGE_SHAPE), rows["label"]


def png_array(split: datasets.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Card, default config: read the PNG bytes undecoded, decode them in one loop."""
    columns = split.cast_column("image", datasets.Image(decode=False))[:]
    images = np.stack([decode(image["bytes"]) for image in columns["image"]])
    return images, np.asarray(columns["label"])


def png_array_numpy_format(split: datasets.Dataset) -> np.ndarray:
    """Not in the card: `datasets` decodes each image to a `PIL.Image`, then the numpy formatter stacks them."""
    return split.with_format("numpy")["image"][:]


def decode(png: bytes) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(png)))


# --- One epoch, not streaming ------------------------------------------------------------


def plain_loader(split: datasets.Dataset, num_workers: int) -> Batches:
    """What users write without reading the card: `DataLoader(ds.with_format("torch"), 256, shuffle=True)`.

    `datasets` gathers each batch's rows one slice at a time, converts each row, splits
    the batch into examples and the collate function stacks them again.
    """
    column = "pixels" if "pixels" in split.column_names else "image"
    loader = torch.utils.data.DataLoader(
        split.with_format("torch"), batch_size=BATCH_SIZE, shuffle=True, num_workers=num_workers
    )
    for batch in loader:
        yield batch[column].view(-1, 1, *fashion_mnist.IMAGE_SHAPE).float().div(255), batch["label"]


def pixels_in_memory(split: datasets.Dataset) -> Batches:
    """Card, `pixels` config: the split as two tensors (47 MB), then each shuffled batch is one indexing."""
    rows = split.with_format("torch", dtype=torch.uint8)[:]
    images, labels = rows["pixels"].view(-1, 1, *fashion_mnist.IMAGE_SHAPE), rows["label"].long()
    for batch in torch.randperm(len(labels)).split(BATCH_SIZE):
        yield images[batch].float().div(255), labels[batch]


def png_batch_transform(split: datasets.Dataset, num_workers: int) -> Batches:
    """Card, default config: `DataLoader` workers decode a whole batch of PNG bytes in one transform."""
    split = split.cast_column("image", datasets.Image(decode=False)).with_transform(png_batch_to_tensors)
    loader = torch.utils.data.DataLoader(split, batch_size=BATCH_SIZE, shuffle=True, num_workers=num_workers)
    for batch in loader:
        yield batch["pixel_values"], batch["labels"]


def png_batch_to_tensors(batch: dict[str, list]) -> dict[str, torch.Tensor]:
    pixels = torch.from_numpy(np.stack([decode(image["bytes"]) for image in batch["image"]]))
    return {"pixel_values": pixels.unsqueeze(1).float().div(255), "labels": torch.tensor(batch["label"])}


# --- One epoch, streaming ----------------------------------------------------------------


def pixels_stream(repo: str | pathlib.Path, split: str = "train", seed: int = 0) -> datasets.IterableDataset:
    """Card, `pixels` config streamed: shuffle, then batches that stay Arrow tables (one row holding 256 examples).

    With the numpy or torch format, `datasets` converts each example of a batch on its own
    (about 60 us an example); with the Python format it builds lists of 784 ints, 50-100x
    slower still. `max_buffer_input_shards=1` keeps `shuffle` from pausing 5 s when an
    iterator closes (datasets 5.2).
    """
    stream = datasets.load_dataset(str(repo), fashion_mnist.PIXELS, split=split, streaming=True)
    stream = stream.shuffle(seed=seed, buffer_size=SHUFFLE_BUFFER, max_buffer_input_shards=1)
    return stream.with_format("arrow").batch(BATCH_SIZE)


def arrow_batch_to_tensors(table: pa.Table) -> tuple[torch.Tensor, torch.Tensor]:
    """Card: the `collate_fn` that turns one Arrow batch into model inputs, in the `DataLoader` workers.

    Zero-copy views of the Arrow buffers, then one numpy conversion: the workers run torch
    with one thread, and numpy does it without threads in the main process either.
    """
    pixels = table["pixels"][0].values.flatten().to_numpy().reshape(-1, 1, *fashion_mnist.IMAGE_SHAPE)
    labels = table["label"][0].values.to_numpy()
    return torch.from_numpy(pixels.astype(np.float32) / 255), torch.from_numpy(labels.astype(np.int64))


def png_stream(repo: str | pathlib.Path, split: str = "train", seed: int = 0) -> datasets.IterableDataset:
    """Card, default config streamed: shuffle the PNG bytes, decode each batch in one `map` call in the workers."""
    stream = datasets.load_dataset(str(repo), split=split, streaming=True)
    stream = stream.cast_column("image", datasets.Image(decode=False))
    stream = stream.shuffle(seed=seed, buffer_size=SHUFFLE_BUFFER, max_buffer_input_shards=1)
    return stream.batch(BATCH_SIZE).map(png_stream_to_arrays, remove_columns=["image", "label"]).with_format("torch")


def png_stream_to_arrays(batch: dict[str, list]) -> dict[str, np.ndarray]:
    pixels = np.stack([decode(image["bytes"]) for image in batch["image"]])
    return {"pixel_values": pixels[:, None].astype(np.float32) / 255.0, "labels": np.asarray(batch["label"])}


def pixels_stream_batches(repo: str | pathlib.Path, num_workers: int) -> Batches:
    """Card: the pixels stream through `DataLoader(batch_size=None, collate_fn=...)`, batches made in the workers."""
    stream = pixels_stream(repo)
    yield from torch.utils.data.DataLoader(
        stream, batch_size=None, num_workers=num_workers, collate_fn=arrow_batch_to_tensors
    )


def png_stream_batches(repo: str | pathlib.Path, num_workers: int) -> Batches:
    """Card: the PNG stream's ready-made batches through `DataLoader(batch_size=None)`."""
    for batch in torch.utils.data.DataLoader(png_stream(repo), batch_size=None, num_workers=num_workers):
        yield batch["pixel_values"], batch["labels"]
