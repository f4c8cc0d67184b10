"""What stands out as the photo's subject, from U²-Net (the small u2netp, shipped in models/).

It draws whole silhouettes where colour is ambiguous (a grey bottle's sides on a grey backdrop), but
fills a wheel's openings and picks a photo's own subject over one pasted onto it; the caller decides
when to believe it.
"""

from __future__ import annotations

import cv2
import numpy as np

from lib.local_studio.engines.bundled_models import MODELS, BundledModel

_MODEL = BundledModel(MODELS / "u2netp.onnx")
_SIDE = 320  # the size it was trained at: smaller inputs blur the line between a wheel and its openings
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)  # ImageNet statistics, as it was trained
_STD = np.array([0.229, 0.224, 0.225], np.float32)


def salient_probability(rgb: np.ndarray) -> np.ndarray | None:
    """How strongly each pixel of an RGB image (0..255) belongs to its salient subject, 0..1 at the
    image's size (rescaled so the image's least and most salient pixels span 0..1); None when the model
    is not available."""
    height, width = rgb.shape[:2]
    square = cv2.resize(np.clip(rgb, 0, 255).astype(np.uint8), (_SIDE, _SIDE), interpolation=cv2.INTER_AREA)
    scaled = square.astype(np.float32) / max(float(square.max()), 1.0)
    output = _MODEL.run(((scaled - _MEAN) / _STD).transpose(2, 0, 1)[None])
    if output is None:
        return None
    saliency = output[0, 0]
    low, high = float(saliency.min()), float(saliency.max())
    saliency = (saliency - low) / max(high - low, 1e-6)
    return cv2.resize(saliency, (width, height), interpolation=cv2.INTER_LINEAR)
