"""Background removal of thin parts in another colour than the subject: spokes and strands are kept."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from bench.bg_eval_set import make_case
from lib.local_studio.engines import remove_background
from tests.test_engines_background import HEIGHT, WIDTH, composite, iou, mask_of, striped_colour

CENTRE, RADIUS = (480, 360), 230


def wheel() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A black tyre with one-pixel grey spokes: the colour, the alpha and where the spokes are."""
    tyre = mask_of(lambda m: cv2.circle(m, CENTRE, RADIUS, 255, 14, cv2.LINE_AA))
    hub = mask_of(lambda m: cv2.circle(m, CENTRE, 18, 255, -1, cv2.LINE_AA))
    spokes = np.zeros((HEIGHT, WIDTH), np.uint8)
    for k in range(16):
        angle = k * np.pi / 8 + 0.05
        end = (round(CENTRE[0] + np.cos(angle) * RADIUS), round(CENTRE[1] + np.sin(angle) * RADIUS))
        cv2.line(spokes, CENTRE, end, 255, 1, cv2.LINE_AA)
    spoke_alpha = spokes.astype(np.float32) / 255 * 0.9
    solid = np.maximum(tyre, hub)
    colour = np.empty((HEIGHT, WIDTH, 3), np.float32)
    colour[:] = (150, 150, 155)
    colour = colour * (1 - solid[:, :, None]) + np.array((25, 25, 28), np.float32) * solid[:, :, None]
    alpha = np.maximum(solid, spoke_alpha)
    return colour, alpha, (spoke_alpha > 0.5) & (solid < 0.1)


def test_spokes_in_a_wheels_opening_are_kept() -> None:
    """Grey spokes one pixel wide across a black tyre's opening stay; the backdrop between them goes."""
    colour, alpha, spokes = wheel()
    background = np.full((HEIGHT, WIDTH, 3), (60, 120, 200), np.float32)
    cutout = remove_background(composite(background, colour, alpha))
    kept = np.asarray(cutout)[:, :, 3] > 127
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    inside = np.hypot(xx - CENTRE[0], yy - CENTRE[1]) < RADIUS - 10
    between = inside & (cv2.dilate((alpha > 0.02).astype(np.uint8), np.ones((7, 7), np.uint8)) == 0)
    assert spokes.sum() > 2000
    assert kept[spokes].mean() > 0.7
    assert kept[between].mean() < 0.02
    assert iou(cutout, alpha) > 0.85


def test_lettering_under_a_logo_is_kept() -> None:
    """Dark letters spaced out beneath a round logo on a gradient are kept, not dropped as specks."""
    disc = mask_of(lambda m: cv2.circle(m, (480, 250), 170, 255, -1, cv2.LINE_AA))
    letters = mask_of(
        lambda m: cv2.putText(m, "L  u  n", (330, 540), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 255, 5, cv2.LINE_AA)
    )
    colour = striped_colour((240, 130, 40)) * (1 - letters[:, :, None]) + 40 * letters[:, :, None]
    alpha = np.maximum(disc, letters)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    t = np.clip(np.hypot(xx / WIDTH - 0.5, yy / HEIGHT - 0.5) * 1.4, 0, 1)[:, :, None]
    background = np.array((60, 160, 90), np.float32) * (1 - t) + np.array((200, 200, 150), np.float32) * t
    cutout = remove_background(composite(background, colour, alpha))
    kept = np.asarray(cutout)[:, :, 3] > 127
    assert (letters > 0.5).sum() > 1500
    assert kept[letters > 0.5].mean() > 0.85
    assert iou(cutout, alpha) > 0.95


def test_spokes_keep_their_own_width() -> None:
    """The half-covered pixels beside a one-pixel spoke stay clear, so spokes are not drawn fatter."""
    colour, alpha, spokes = wheel()
    background = np.full((HEIGHT, WIDTH, 3), (200, 60, 180), np.float32)
    kept = np.asarray(remove_background(composite(background, colour, alpha)))[:, :, 3] > 127
    beside = (cv2.dilate(spokes.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & (alpha < 0.3)
    assert beside.sum() > 3000
    assert kept[spokes].mean() > 0.7
    assert kept[beside].mean() < 0.15


def test_bicycle_spokes_on_a_studio_backdrop_are_not_widened() -> None:
    """A bicycle's one-pixel spokes and thin frame on a plain backdrop are cut at their own width."""
    case = make_case(4, "studio", "thin")
    kept = np.asarray(remove_background(Image.fromarray(case.image)))[:, :, 3] > 127
    truth = case.alpha > 127
    assert float((kept & truth).sum() / (kept | truth).sum()) > 0.94
