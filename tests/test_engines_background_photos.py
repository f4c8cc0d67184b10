"""Background removal on real photos against masks drawn by hand: people and objects are kept whole."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from bench.bg_real_photos import RealPhoto, load_photo
from lib.local_studio.engines import remove_background


@pytest.fixture(scope="module")
def cutouts() -> dict[str, tuple[RealPhoto, np.ndarray]]:
    """Each photo used here with the alpha (0..1) of its cut-out, computed once."""
    result = {}
    for name in ("astronaut", "camera", "coffee", "rocket"):
        photo = load_photo(name)
        alpha = np.asarray(remove_background(Image.fromarray(photo.image)))[:, :, 3] / 255
        result[name] = (photo, alpha)
    return result


def iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    """Overlap of the cut-out's opaque half with the drawn mask."""
    ours, theirs = alpha > 0.5, truth > 127
    return float((ours & theirs).sum() / max(int((ours | theirs).sum()), 1))


def kept(alpha: np.ndarray, region: np.ndarray) -> float:
    """Share of a region's pixels that the cut-out keeps (alpha above one half)."""
    return float((alpha[region] > 0.5).mean())


def ellipse(shape: tuple[int, ...], centre: tuple[int, int], axes: tuple[int, int]) -> np.ndarray:
    """A filled ellipse as a boolean mask of the given shape."""
    canvas = np.zeros(shape[:2], np.uint8)
    cv2.ellipse(canvas, centre, axes, 0, 0, 360, 1, -1)
    return canvas > 0


def test_astronaut_keeps_the_orange_suit(cutouts: dict[str, tuple[RealPhoto, np.ndarray]]) -> None:
    """The astronaut is kept whole: her orange suit stays opaque, not just a floating head."""
    photo, alpha = cutouts["astronaut"]
    suit = np.zeros(alpha.shape, bool)
    suit[300:500, 60:300] = True  # chest, badge and arm, below the helmet ring
    assert kept(alpha, suit) > 0.95
    face = ellipse(alpha.shape, (224, 110), (35, 40))
    assert kept(alpha, face) > 0.95
    assert iou(alpha, photo.alpha) > 0.85


def test_cameraman_is_kept_with_his_coat(cutouts: dict[str, tuple[RealPhoto, np.ndarray]]) -> None:
    """The cameraman's head, coat and hands are kept; the field and sky are removed."""
    photo, alpha = cutouts["camera"]
    assert iou(alpha, photo.alpha) > 0.83
    sky = np.zeros(alpha.shape, bool)
    sky[10:60, 300:500] = True
    assert kept(alpha, sky) < 0.05


def test_coffee_keeps_the_cup_inside_saucer_and_spoon(
    cutouts: dict[str, tuple[RealPhoto, np.ndarray]],
) -> None:
    """The coffee cup is kept whole: the coffee inside it, the saucer and the spoon's bowl."""
    photo, alpha = cutouts["coffee"]
    assert kept(alpha, ellipse(alpha.shape, (287, 140), (70, 40))) > 0.95  # the coffee in the cup
    assert kept(alpha, ellipse(alpha.shape, (367, 287), (30, 30))) > 0.9  # the spoon's bowl
    table = np.zeros(alpha.shape, bool)
    table[:, 520:] = True
    assert kept(alpha, table) < 0.05
    assert iou(alpha, photo.alpha) > 0.88


def test_rocket_is_kept_without_the_launch_towers_beside_it(
    cutouts: dict[str, tuple[RealPhoto, np.ndarray]],
) -> None:
    """The rocket in the middle is the cut-out; a lit tower standing apart from it is dropped."""
    photo, alpha = cutouts["rocket"]
    assert iou(alpha, photo.alpha) > 0.4
    left_tower = np.zeros(alpha.shape, bool)
    left_tower[:, :150] = True
    assert kept(alpha, left_tower) < 0.02
