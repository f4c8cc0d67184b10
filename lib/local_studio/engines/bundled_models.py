"""Learned models shipped in models/ (licences and provenance there), run by OpenCV's dnn module.

Nothing is downloaded: a model that is missing or unreadable makes `run` return None, and the engines
fall back to their classical cues.
"""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

MODELS = Path(__file__).with_name("models")


class BundledModel:
    """One ONNX model, loaded on first use and shared by every engine job, one run at a time (an
    OpenCV network keeps state between its input and its output)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    @cached_property
    def _network(self) -> cv2.dnn.Net | None:
        try:
            return cv2.dnn.readNetFromONNX(str(self.path))
        except cv2.error:
            return None

    def run(self, blob: np.ndarray) -> np.ndarray | None:
        """The model's first output for one input blob, or None when the model is not available."""
        with self._lock:
            network = self._network
            if network is None:
                return None
            network.setInput(blob.astype(np.float32))
            return network.forward(network.getUnconnectedOutLayersNames()[0])
