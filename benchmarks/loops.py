"""Every loop the benchmark times, as batches of model input: the card's recipes, and what users write without them.

The card's recipes are the files of `recipes/`, imported here: the benchmark times the code
the card shows, never a copy of it. Each loader yields `(x, y)`, `x` float32 of shape
`(n, 1, 28, 28)` in [0, 1] and `y` int64, the same as `peers`' torchvision loop, so the
epochs compared do the same work. The plain loops are the code users write without the
card, kept beside the recipes to show what the card saves them.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import datasets
import numpy as np
import torch

import fashion_mnist
from recipes import dataloader_png, stream_pixels, stream_png, torch_in_memory

Batches = Iterator[tuple[torch.Tensor, torch.Tensor]]

# --- The card's recipes --------------------------------------------------------------------


def pixels_in_memory(split: datasets.Dataset) -> Batches:
    """`recipes/torch_in_memory.py`: the split as two tensors (47 MB), then each shuffled batch is one indexing."""
    yield from torch_in_memory.shuffled_batches(*torch_in_memory.to_tensors(split))


def png_batch_transform(split: datasets.Dataset, num_workers: int) -> Batches:
    """`recipes/dataloader_png.py`: `DataLoader` workers decode a whole batch of PNG bytes in one transform."""
    for batch in dataloader_png.loader(split, num_workers):
        yield batch["pixel_values"], batch["labels"]


def pixels_stream_batches(repo: str | pathlib.Path, num_workers: int) -> Batches:
    """`recipes/stream_pixels.py`: the train split streamed, batches made as Arrow tables in the workers."""
    stream = datasets.load_dataset(str(repo), fashion_mnist.PIXELS, split="train", streaming=True)
    yield from stream_pixels.loader(stream, num_workers)


def png_stream_batches(repo: str | pathlib.Path, num_workers: int, split: str = "train") -> Batches:
    """`recipes/stream_png.py`: a split's PNG bytes streamed, each batch decoded in one `map` call."""
    stream = datasets.load_dataset(str(repo), split=split, streaming=True)
    for batch in stream_png.loader(stream, num_workers):
        yield batch["pixel_values"], batch["labels"]


# --- What users write without the card ----------------------------------------------------------


def plain_loader(split: datasets.Dataset, num_workers: int) -> Batches:
    """`DataLoader(ds.with_format("torch"), 256, shuffle=True)`: what users write without reading the card.

    `datasets` gathers each batch's rows one slice at a time, converts each row, splits
    the batch into examples and the collate function stacks them again.
    """
    column = "pixels" if "pixels" in split.column_names else "image"
    loader = torch.utils.data.DataLoader(
        split.with_format("torch"), batch_size=256, shuffle=True, num_workers=num_workers
    )
    for batch in loader:
        yield batch[column].view(-1, 1, *fashion_mnist.IMAGE_SHAPE).float().div(255), batch["label"]


def png_array_numpy_format(split: datasets.Dataset) -> np.ndarray:
    """Not in the card: `datasets` decodes each image to a `PIL.Image`, then the numpy formatter stacks them."""
    return split.with_format("numpy")["image"][:]
