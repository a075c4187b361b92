"""What the peers do, for `python -m benchmarks` to set beside this copy's recipes.

Someone who wants Fashion-MNIST as tensors compares us with two loaders:

- Keras' `keras.datasets.fashion_mnist.load_data()`: gunzip the four IDX archives and view
  the bytes as uint8 arrays (`keras_style_split` is that floor; `benchmarks.frameworks` times
  Keras itself where it is installed);
- torchvision's `datasets.FashionMNIST`: the same arrays held in memory, and per item a
  `PIL.Image.fromarray` and `ToTensor()` (`TorchvisionStyleFashionMnist`). PyPI's
  torchvision does not import beside this project's CPU torch, so its `__getitem__` is
  written out here line for line, as torchvision 0.2x has it. `benchmarks.torchvision_peer`
  times the real torchvision, in an environment of its own; this stays only as the
  reference of the sections that run in this project's environment.
"""

from __future__ import annotations

import gzip
import pathlib
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

import fashion_mnist


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
