"""Where the people are: faces found by OpenCV's Haar cascades, the body a face implies, and a
person segmentation model's view of which pixels belong to a person.

The cascades ship inside the opencv-python-headless 4.x wheel (cv2/data) and the model ships in this
package (models/, with its licence and provenance), so nothing is downloaded. A face is a strong hint:
the person around it is the subject, hair above it, shoulders and clothes below it widening down to
the frame's bottom edge, and whatever they hold beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from lib.local_studio.engines.bundled_models import MODELS, BundledModel

_DETECT_SIDE = 320  # work size for detection: big enough for profiles, small enough to be quick
_MIN_FACE = 0.12  # of the short side: smaller "faces" are mostly texture that looks like one
_CASCADES = ("haarcascade_frontalface_alt2.xml", "haarcascade_profileface.xml")
_PERSON_MODEL = BundledModel(MODELS / "selfie_segmentation.onnx")
_PERSON_MODEL_SIDE = 256  # the model's square input


@dataclass(frozen=True)
class Face:
    """A face's box in pixels of the image it was found in; `looks` is -1 (left), 0 (at us) or 1."""

    x: float
    y: float
    width: float
    height: float
    looks: int


@cache
def _cascade(name: str) -> cv2.CascadeClassifier | None:
    """One cascade, loaded once; None when this OpenCV build ships no cascades (OpenCV 5)."""
    data = getattr(cv2, "data", None)
    folder = getattr(data, "haarcascades", None)
    classifier_type = getattr(cv2, "CascadeClassifier", None)
    if folder is None or classifier_type is None or not (Path(folder) / name).is_file():
        return None
    classifier = classifier_type(str(Path(folder) / name))
    return None if classifier.empty() else classifier


def _detect(cascade: cv2.CascadeClassifier, grey: np.ndarray, min_side: int) -> list[tuple[int, ...]]:
    """Boxes (x, y, w, h) the cascade finds with a strict vote, so textures rarely pass."""
    found = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
    return [tuple(int(v) for v in box) for box in found]


def find_faces(rgb: np.ndarray) -> list[Face]:
    """Faces in an RGB uint8 image, largest first, in that image's pixels (frontal, then profiles)."""
    height, width = rgb.shape[:2]
    scale = min(1.0, _DETECT_SIDE / max(height, width))
    small = cv2.resize(
        rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
    )
    grey = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
    min_side = max(12, round(_MIN_FACE * min(grey.shape)))
    faces: list[Face] = []
    frontal, profile = (_cascade(name) for name in _CASCADES)
    if frontal is not None:
        faces += [Face(x, y, w, h, 0) for x, y, w, h in _detect(frontal, grey, min_side)]
    if not faces and profile is not None:
        # The profile cascade knows faces looking left; the mirrored image shows those looking right.
        faces += [Face(x, y, w, h, -1) for x, y, w, h in _detect(profile, grey, min_side)]
        mirrored = np.ascontiguousarray(grey[:, ::-1])
        faces += [
            Face(grey.shape[1] - x - w, y, w, h, 1) for x, y, w, h in _detect(profile, mirrored, min_side)
        ]
    faces.sort(key=lambda face: -face.width)
    return [Face(f.x / scale, f.y / scale, f.width / scale, f.height / scale, f.looks) for f in faces]


def body_prior(face: Face, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Where this person surely is (face and neck) and probably is (head with hair, body below), as masks.

    The body widens from the shoulders to the bottom edge; a person looking sideways leans away from
    where they look, so the body is shifted that way.
    """
    sure = np.zeros((height, width), np.uint8)
    likely = np.zeros((height, width), np.uint8)
    cx, cy = face.x + face.width / 2, face.y + face.height / 2
    w, h = face.width, face.height
    cv2.ellipse(sure, (round(cx), round(cy)), (round(0.3 * w), round(0.38 * h)), 0, 0, 360, 1, -1)
    cv2.ellipse(
        likely, (round(cx), round(cy - 0.08 * h)), (round(0.8 * w), round(0.85 * h)), 0, 0, 360, 1, -1
    )
    neck_y = face.y + 1.05 * h
    lean = -face.looks * 0.6 * w
    core = np.array(
        [
            [cx - 0.2 * w, cy],
            [cx + 0.2 * w, cy],
            [cx + 0.25 * w, neck_y + 0.5 * h],
            [cx - 0.25 * w, neck_y + 0.5 * h],
        ]
    )
    cv2.fillPoly(sure, [core.round().astype(np.int32)], 1)
    spread = max(height - neck_y, 1) * 0.75
    body = np.array(
        [
            [cx - 0.7 * w, neck_y - 0.2 * h],
            [cx + 0.7 * w, neck_y - 0.2 * h],
            [cx + lean + 1.1 * w + spread, height],
            [cx + lean - 1.1 * w - spread, height],
        ]
    )
    cv2.fillPoly(likely, [body.round().astype(np.int32)], 1)
    return sure > 0, (likely > 0) | (sure > 0)


def person_probability(rgb: np.ndarray) -> np.ndarray | None:
    """How likely each pixel of an RGB image (0..255) belongs to a person, 0..1 at the image's size;
    None when the model is not available (the caller falls back to the face-based body guess)."""
    height, width = rgb.shape[:2]
    square = cv2.resize(
        np.clip(rgb, 0, 255).astype(np.uint8), (_PERSON_MODEL_SIDE,) * 2, interpolation=cv2.INTER_AREA
    )
    output = _PERSON_MODEL.run((square.astype(np.float32) / 255.0)[None])
    if output is None:
        return None
    return cv2.resize(output[0, :, :, 0], (width, height), interpolation=cv2.INTER_LINEAR)
