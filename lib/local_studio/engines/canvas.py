"""A float RGB canvas for the preview renderer: soft masks, painting through them, smooth noise."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Colour = tuple[float, float, float]


def mix(a: Colour, b: Colour, t: float) -> Colour:
    """Linear blend of two colours."""
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


class Canvas:
    """A float RGB canvas (0..255) with helpers that paint colours through soft masks."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = np.zeros((height, width, 3), np.float32)
        self.unit = min(width, height) / 100.0  # one "percent" of the short side, for scale-free drawing

    def paint(self, mask: np.ndarray, colour: Colour | np.ndarray, opacity: float = 1.0) -> None:
        """Blend a colour (or an image) into the canvas through a 0..1 mask, only where the mask is set."""
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if rows.size == 0:
            return
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        paint = np.asarray(colour, np.float32)
        if paint.ndim == 3:  # an image, or a row or column of colours that broadcasts
            rows_at = slice(y0, y1) if paint.shape[0] > 1 else slice(None)
            paint = paint[rows_at, slice(x0, x1) if paint.shape[1] > 1 else slice(None)]
        region = self.pixels[y0:y1, x0:x1]
        region += (paint - region) * (mask[y0:y1, x0:x1] * opacity)[:, :, None]

    def polygon_mask(self, points: np.ndarray) -> np.ndarray:
        """An antialiased 0..1 mask of a filled polygon given in pixel coordinates."""
        mask = np.zeros((self.height, self.width), np.uint8)
        cv2.fillPoly(mask, [np.round(points * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
        return mask.astype(np.float32) / 255.0

    def shapes_mask(self, draw: Callable[[np.ndarray], object]) -> np.ndarray:
        """A 0..1 mask from a function that draws white shapes with OpenCV on a black uint8 image."""
        mask = np.zeros((self.height, self.width), np.uint8)
        draw(mask)
        return mask.astype(np.float32) / 255.0

    def smooth_noise(self, rng: np.random.Generator, cells: int) -> np.ndarray:
        """Smooth random field in 0..1, with about `cells` blobs across the short side."""
        short = max(2, cells)
        grid_w = max(2, round(short * self.width / min(self.width, self.height)))
        grid_h = max(2, round(short * self.height / min(self.width, self.height)))
        grid = rng.random((grid_h, grid_w)).astype(np.float32)
        return cv2.resize(grid, (self.width, self.height), interpolation=cv2.INTER_CUBIC).clip(0, 1)
