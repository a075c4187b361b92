"""Every loop the benchmark times: the card's recipes, what users write without them, and the peers' loops.

The card's recipes are the files of `recipes/`, imported here: the benchmark times the code
the card shows, never a copy of it. Each loader yields `(x, y)`, `x` float32 of shape
`(n, 1, 28, 28)` in [0, 1] and `y` int64, so the epochs compared do the same work. The plain
loops are the code users write without the card, kept beside the recipes to show what the card
saves them. The peers: Keras' `load_data()` gunzips the four IDX archives and views the bytes as
uint8 arrays (`keras_style_split`, its floor; `benchmarks.frameworks` times Keras itself);
torchvision's `FashionMNIST` holds those arrays and makes a `PIL.Image` and a `ToTensor()` per item.
PyPI's torchvision does not import beside this project's CPU torch, so its `__getitem__` is written
out here line for line, as torchvision 0.2x has it (the torchvision section times the real one
in an environment of its own).
"""

from __future__ import annotations

import gzip
import pathlib
from collections.abc import Iterator, Sequence

import datasets
import numpy as np
import torch
from PIL import Image

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


# --- The peers -----------------------------------------------------------------------------------


def keras_style_split(
    archive_dir: pathlib.Path, archives: Sequence[fashion_mnist.Archive], split: str
) -> tuple[np.ndarray, np.ndarray]:
    """What Keras' loader pays: gunzip the split's IDX archives, view the bytes as uint8 arrays."""
    arrays = {}
    for archive in (a for a in archives if a.split == split):
        raw = gzip.decompress((archive_dir / archive.filename).read_bytes())
        header = 16 if archive.kind == "images" else 8
        arrays[archive.kind] = np.frombuffer(raw, dtype=np.uint8, offset=header)
    return arrays["images"].reshape(-1, *fashion_mnist.IMAGE_SHAPE), arrays["labels"]


class TorchvisionStyleFashionMnist(torch.utils.data.Dataset):
    """torchvision's `FashionMNIST` with `transform=ToTensor()`: uint8 tensors in memory, PIL and a tensor per item."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.data = torch.from_numpy(np.ascontiguousarray(images))
        self.targets = torch.from_numpy(labels.astype(np.int64))

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image, target = self.data[index], int(self.targets[index])
        image = Image.fromarray(image.numpy(), mode="L")  # torchvision: "to return a PIL Image"
        return to_tensor(image), target


def to_tensor(picture: Image.Image) -> torch.Tensor:
    """torchvision's `ToTensor()` for a mode-L image: (1, H, W) float32 in [0, 1]."""
    array = torch.from_numpy(np.array(picture, np.uint8, copy=True))
    array = array.view(picture.size[1], picture.size[0], 1).permute((2, 0, 1)).contiguous()
    return array.to(dtype=torch.get_default_dtype()).div(255)


def torchvision_style_batches(images: np.ndarray, labels: np.ndarray, num_workers: int) -> torch.utils.data.DataLoader:
    """The loop a torchvision user writes: `DataLoader(FashionMNIST(..., transform=ToTensor()), 256, shuffle=True)`."""
    dataset = TorchvisionStyleFashionMnist(images, labels)
    return torch.utils.data.DataLoader(dataset, batch_size=256, shuffle=True, num_workers=num_workers)
