"""Real photos for the background-removal evaluation, with subject masks drawn by hand as shapes.

The photos are the project's sample images (assets/samples/, licences in its README).
Each mask is what a person asking "remove the background" expects to keep: the whole person with what
they hold, the whole cup with its saucer and spoon. Masks are drawn as polygons, ellipses and lines in
image coordinates, so their edges are good to a few pixels: IoU scores here are honest to about 0.02.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

PHOTO_DIR = Path(__file__).resolve().parents[1] / "assets" / "samples"

Points = list[tuple[int, int]]


@dataclass(frozen=True)
class RealPhoto:
    """One photo, its hand-drawn subject mask (uint8, 255 = subject) and the kind of subject."""

    name: str
    kind: str
    image: np.ndarray
    alpha: np.ndarray


def _polygon(mask: np.ndarray, points: Points) -> None:
    cv2.fillPoly(mask, [np.array(points, np.int32)], 255, lineType=cv2.LINE_AA)


def _ellipse(mask: np.ndarray, centre: tuple[int, int], axes: tuple[int, int]) -> None:
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 255, -1, lineType=cv2.LINE_AA)


def _line(mask: np.ndarray, start: tuple[int, int], end: tuple[int, int], width: int) -> None:
    cv2.line(mask, start, end, 255, width, lineType=cv2.LINE_AA)


def _astronaut(mask: np.ndarray) -> None:
    """The astronaut whole: hair, face, the orange suit, and the helmet she holds."""
    _polygon(
        mask,
        [
            (228, 14),
            (265, 18),
            (290, 40),
            (302, 70),
            (298, 100),
            (288, 130),
            (276, 150),
            (282, 168),
            (296, 190),
            (303, 220),
            (306, 245),
            (330, 246),
            (350, 270),
            (360, 300),
            (362, 345),
            (395, 345),
            (440, 346),
            (475, 360),
            (495, 385),
            (505, 420),
            (512, 450),
            (512, 512),
            (25, 512),
            (20, 460),
            (22, 400),
            (28, 340),
            (40, 300),
            (55, 242),
            (80, 212),
            (113, 192),
            (118, 180),
            (130, 165),
            (150, 153),
            (180, 148),
            (185, 120),
            (167, 102),
            (155, 70),
            (165, 40),
            (190, 20),
        ],
    )


def _camera(mask: np.ndarray) -> None:
    """The cameraman whole: hair, coat, hands, the camera and its tripod."""
    _polygon(
        mask,
        [
            (0, 262),
            (60, 165),
            (130, 132),
            (158, 112),
            (170, 95),
            (185, 72),
            (210, 64),
            (240, 75),
            (265, 100),
            (268, 125),
            (258, 139),
            (325, 139),
            (326, 170),
            (331, 173),
            (329, 210),
            (310, 230),
            (300, 240),
            (303, 272),
            (245, 310),
            (200, 318),
            (165, 345),
            (150, 365),
            (150, 512),
            (0, 512),
        ],
    )
    _polygon(mask, [(287, 205), (301, 205), (301, 480), (287, 480)])  # centre column
    _polygon(mask, [(278, 312), (312, 312), (312, 342), (278, 342)])  # head of the legs
    _line(mask, (290, 325), (233, 505), 7)
    _line(mask, (302, 325), (400, 512), 7)
    _line(mask, (305, 312), (337, 302), 5)  # pan handle


def _chelsea(mask: np.ndarray) -> None:
    """The cat: the whole head and chest, ears included."""
    _polygon(
        mask,
        [
            (0, 28),
            (28, 4),
            (60, 0),
            (350, 0),
            (395, 10),
            (380, 48),
            (370, 62),
            (365, 110),
            (352, 165),
            (345, 210),
            (340, 260),
            (330, 300),
            (0, 300),
        ],
    )


def _coffee(mask: np.ndarray) -> None:
    """The cup with its inside, the saucer and the spoon."""
    _ellipse(mask, (278, 234), (201, 157))  # saucer
    _ellipse(mask, (291, 73), (117, 55))  # the cup's rim and the coffee inside it
    _polygon(mask, [(174, 73), (408, 73), (405, 205), (180, 205)])  # the cup's body
    _polygon(mask, [(400, 70), (413, 66), (424, 77), (417, 100), (408, 112)])  # the spoon's handle


def _rocket(mask: np.ndarray) -> None:
    """The rocket on its pad (the lightning towers around it are background)."""
    _polygon(
        mask,
        [
            (322, 127),
            (330, 133),
            (335, 150),
            (336, 340),
            (353, 350),
            (356, 403),
            (360, 403),
            (360, 427),
            (267, 427),
            (267, 403),
            (287, 403),
            (290, 350),
            (307, 340),
            (308, 150),
            (313, 133),
        ],
    )


_SUBJECTS: dict[str, tuple[str, Callable[[np.ndarray], None]]] = {
    "astronaut": ("person", _astronaut),
    "camera": ("person", _camera),
    "chelsea": ("animal", _chelsea),
    "coffee": ("object", _coffee),
    "rocket": ("object", _rocket),
}


def load_photo(name: str) -> RealPhoto:
    """One sample photo with its drawn mask."""
    kind, draw = _SUBJECTS[name]
    image = np.asarray(Image.open(PHOTO_DIR / f"{name}.jpg").convert("RGB"))
    mask = np.zeros(image.shape[:2], np.uint8)
    draw(mask)
    return RealPhoto(name, kind, image, mask)


def load_photos() -> list[RealPhoto]:
    """Every sample photo with its drawn mask."""
    return [load_photo(name) for name in _SUBJECTS]
