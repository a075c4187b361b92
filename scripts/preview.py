"""The card's preview: a sprite of real examples, a few rows per class, each row labelled.

Made from the built data (not shipped in git), in the spirit of the upstream README's sprite.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

LABEL_WIDTH = 110
SCALE = 2
ROWS_PER_CLASS = 1  # one row a class: the sprite and the quick start below it fit the first screen
PER_ROW = 14
PER_CLASS = ROWS_PER_CLASS * PER_ROW  # examples of each class the sprite shows


def first_of_each_class(labels: np.ndarray, num_classes: int, per_class: int) -> list[np.ndarray]:
    """Indices of the first `per_class` examples of each class, in class order (deterministic)."""
    return [np.flatnonzero(labels == label)[:per_class] for label in range(num_classes)]


def render_sprite(
    images: np.ndarray,
    labels: np.ndarray,
    names: list[str],
    rows_per_class: int = ROWS_PER_CLASS,
    per_row: int = PER_ROW,
) -> Image.Image:
    """Grid of `rows_per_class * per_row` examples per class, the class name left of its rows."""
    height, width = images.shape[1:]
    cell_h, cell_w = height * SCALE, width * SCALE
    sprite = Image.new("L", (LABEL_WIDTH + per_row * cell_w, len(names) * rows_per_class * cell_h), color=255)
    draw = ImageDraw.Draw(sprite)
    font = ImageFont.load_default(size=14)
    for label, indices in enumerate(first_of_each_class(labels, len(names), rows_per_class * per_row)):
        top = label * rows_per_class * cell_h
        draw.text((6, top + rows_per_class * cell_h // 2), names[label], fill=0, font=font, anchor="lm")
        for position, index in enumerate(indices):
            row, column = divmod(position, per_row)
            tile = Image.fromarray(images[index]).resize((cell_w, cell_h), Image.Resampling.NEAREST)
            sprite.paste(tile, (LABEL_WIDTH + column * cell_w, top + row * cell_h))
    return sprite


def sprite_of(labels: np.ndarray, images_at: Callable[[np.ndarray], np.ndarray], names: Sequence[str]) -> Image.Image:
    """The sprite of a split: its first `PER_CLASS` examples of each class, whose pixels `images_at(indices)` gives.

    One definition for the build, which renders the preview, and verify, which renders it
    again from the shards to prove the file is the build's own.
    """
    indices = np.concatenate(first_of_each_class(labels, len(names), PER_CLASS))
    return render_sprite(np.asarray(images_at(indices)), labels[indices], list(names))
