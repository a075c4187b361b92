"""scripts/preview.py: the sprite shows the first examples of each class, in class rows, at 2x."""

from __future__ import annotations

import numpy as np

from scripts import preview


def test_first_of_each_class_is_in_order_and_capped() -> None:
    labels = np.array([2, 0, 1, 0, 2, 0, 1])
    picked = preview.first_of_each_class(labels, num_classes=3, per_class=2)
    assert [indices.tolist() for indices in picked] == [[1, 3], [2, 6], [0, 4]]


def test_sprite_places_each_class_in_its_rows() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    labels = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    sprite = preview.render_sprite(images, labels, ["zero", "one"], rows_per_class=2, per_row=2)
    cell = 28 * preview.SCALE
    assert sprite.mode == "L" and sprite.size == (preview.LABEL_WIDTH + 2 * cell, 2 * 2 * cell)
    pixels = np.asarray(sprite)
    # Class 1's fourth example (index 7) sits in its second row, second column, scaled by nearest neighbour.
    top, left = 2 * cell + cell, preview.LABEL_WIDTH + cell
    tile = pixels[top : top + cell, left : left + cell]
    assert np.array_equal(tile[:: preview.SCALE, :: preview.SCALE], images[7])
    assert (pixels[:, : preview.LABEL_WIDTH] < 255).any(), "the class names are drawn in the left margin"
