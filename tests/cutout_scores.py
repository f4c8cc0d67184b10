"""How a cut-out is scored in the engine tests: its alpha as uint8, and IoU of the opaque halves."""

from __future__ import annotations

import numpy as np
from PIL import Image

from lib.local_studio.engines import remove_background


def cut_out(image: np.ndarray) -> np.ndarray:
    """The alpha (uint8) background removal gives an RGB image."""
    return np.asarray(remove_background(Image.fromarray(image)))[:, :, 3]


def iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    """Overlap of the cut-out's opaque half with the true subject's (both uint8)."""
    cut, kept = alpha > 127, truth > 127
    return float((cut & kept).sum() / max(int((cut | kept).sum()), 1))
