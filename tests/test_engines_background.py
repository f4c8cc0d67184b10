"""Background removal on composites with exact ground truth: overlap, shadows, edges, odd inputs."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from lib.local_studio.engines import remove_background

WIDTH, HEIGHT = 960, 720


def composite(
    background: np.ndarray,
    colour: np.ndarray,
    alpha: np.ndarray,
    shadow: np.ndarray | None = None,
    seed: int = 0,
) -> Image.Image:
    """alpha * colour + (1 - alpha) * background (shadow darkens it), then noise and a JPEG round trip."""
    if shadow is not None:
        background = background * (1 - shadow[:, :, None])
    mixed = colour * alpha[:, :, None] + background * (1 - alpha[:, :, None])
    noisy = mixed + np.random.default_rng(seed).normal(0, 2.5, mixed.shape)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB").save(buffer, "JPEG", quality=88)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def mask_of(draw) -> np.ndarray:  # type: ignore[no-untyped-def]
    """A 0..1 antialiased mask drawn with OpenCV on a WIDTH x HEIGHT canvas."""
    canvas = np.zeros((HEIGHT, WIDTH), np.uint8)
    draw(canvas)
    return canvas.astype(np.float32) / 255


def striped_colour(base: tuple[int, int, int]) -> np.ndarray:
    """A subject colour with some shading and texture, so it is not a flat sticker."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    shade = 0.8 + 0.2 * np.sin(xx / 23) * np.cos(yy / 31)
    return np.array(base, np.float32) * shade[:, :, None]


def iou(cutout: Image.Image, truth: np.ndarray) -> float:
    """Intersection over union of alpha > 0.5 between a cut-out and the true alpha."""
    predicted = np.asarray(cutout)[:, :, 3] > 127
    expected = truth > 0.5
    return float((predicted & expected).sum() / max(1, (predicted | expected).sum()))


def blob() -> np.ndarray:
    """A bottle-and-ball subject standing in the middle of the frame."""
    return mask_of(
        lambda m: (
            cv2.ellipse(m, (420, 400), (150, 200), 0, 0, 360, 255, -1, cv2.LINE_AA),
            cv2.circle(m, (640, 470), 110, 255, -1, cv2.LINE_AA),
            cv2.rectangle(m, (395, 120), (445, 220), 255, -1, cv2.LINE_AA),
        )
    )


def test_studio_backdrop_overlap() -> None:
    """A subject on a plain studio colour is cut out with high overlap, as RGBA of the same size."""
    alpha = blob()
    background = np.full((HEIGHT, WIDTH, 3), (235, 235, 240), np.float32)
    image = composite(background, striped_colour((180, 60, 40)), alpha)
    cutout = remove_background(image)
    assert cutout.mode == "RGBA"
    assert cutout.size == image.size
    assert iou(cutout, alpha) > 0.95


def test_gradient_backdrop_overlap() -> None:
    """A diagonal two-colour gradient is followed as backdrop, not mistaken for the subject."""
    alpha = blob()
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    t = np.clip((xx / WIDTH + yy / HEIGHT) / 2, 0, 1)[:, :, None]
    background = np.array((40, 70, 160), np.float32) * (1 - t) + np.array((230, 140, 200), np.float32) * t
    cutout = remove_background(composite(background, striped_colour((240, 220, 60)), alpha))
    assert iou(cutout, alpha) > 0.93


def test_textured_backdrop_overlap() -> None:
    """A smooth subject over a busy texture is still found."""
    alpha = blob()
    rng = np.random.default_rng(3)
    texture = cv2.resize(
        rng.random((HEIGHT // 8, WIDTH // 8, 3)).astype(np.float32),
        (WIDTH, HEIGHT),
        interpolation=cv2.INTER_NEAREST,
    )
    background = 60 + texture * np.array((120, 150, 90), np.float32)
    cutout = remove_background(composite(background, striped_colour((230, 40, 150)), alpha))
    assert iou(cutout, alpha) > 0.9


def test_subject_touching_the_border() -> None:
    """Head and shoulders cut by the bottom edge: the border there is subject, not backdrop."""
    alpha = mask_of(
        lambda m: (
            cv2.circle(m, (480, 260), 110, 255, -1, cv2.LINE_AA),
            cv2.fillPoly(
                m, [np.array([[250, 420], [710, 420], [800, 720], [160, 720]], np.int32)], 255, cv2.LINE_AA
            ),
        )
    )
    background = np.full((HEIGHT, WIDTH, 3), (70, 120, 200), np.float32)
    cutout = remove_background(composite(background, striped_colour((60, 50, 45)), alpha))
    assert iou(cutout, alpha) > 0.93


def test_drop_shadow_counts_as_backdrop() -> None:
    """A soft shadow beside the subject is cleared, while the subject stays opaque."""
    alpha = blob()
    shadow = cv2.GaussianBlur(np.roll(alpha, 60, axis=1), (0, 0), 14) * 0.5 * (1 - alpha)
    background = np.full((HEIGHT, WIDTH, 3), (225, 225, 228), np.float32)
    cutout = remove_background(composite(background, striped_colour((40, 110, 60)), alpha, shadow))
    cut_alpha = np.asarray(cutout)[:, :, 3] / 255
    in_shadow = (shadow > 0.2) & (alpha == 0)
    assert in_shadow.sum() > 1000
    assert cut_alpha[in_shadow].mean() < 0.1
    assert iou(cutout, alpha) > 0.93


def test_soft_edges_are_decontaminated() -> None:
    """Partly transparent edges carry the subject's colour, not a halo of the green backdrop."""
    alpha = cv2.GaussianBlur(blob(), (0, 0), 4)
    colour = np.full((HEIGHT, WIDTH, 3), (200, 60, 180), np.float32)
    background = np.full((HEIGHT, WIDTH, 3), (30, 200, 60), np.float32)
    cutout = np.asarray(remove_background(composite(background, colour, alpha))).astype(np.float32)
    edge = (alpha > 0.15) & (alpha < 0.85) & (cutout[:, :, 3] > 40)
    assert edge.sum() > 2000
    # Green above the subject's own share is what would show as a halo on another background.
    green_excess = cutout[:, :, 1][edge] - 60
    assert float(np.median(green_excess)) < 25
    assert 0.0 < cutout[:, :, 3][edge].mean() / 255 < 1.0


def test_sample_photo_has_subject_and_backdrop(samples_dir: Path) -> None:
    """A real photo comes back the same size with both transparent and opaque pixels."""
    photo = Image.open(samples_dir / "coffee.jpg")
    cutout = remove_background(photo)
    alpha = np.asarray(cutout)[:, :, 3]
    assert cutout.size == photo.size
    assert (alpha == 0).mean() > 0.05
    assert (alpha == 255).mean() > 0.05


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "CMYK", "I;16"])
def test_any_image_mode_is_accepted(mode: str) -> None:
    """Grey, palette, RGBA, CMYK and 16-bit inputs all give an RGBA result of the same size."""
    image = Image.new("RGB", (200, 150), (240, 240, 240))
    image.paste((20, 20, 160), (60, 40, 140, 110))
    converted = image.convert("L").convert("I;16") if mode == "I;16" else image.convert(mode)
    cutout = remove_background(converted)
    assert cutout.mode == "RGBA"
    assert cutout.size == (200, 150)


def test_smallest_allowed_image() -> None:
    """A 64 x 64 image (the engines' minimum side) is handled."""
    image = Image.new("RGB", (64, 64), (250, 250, 250))
    image.paste((200, 30, 30), (20, 20, 44, 44))
    alpha = np.asarray(remove_background(image))[:, :, 3]
    assert alpha[32, 32] > 200
    assert alpha[2, 2] < 30


def test_is_deterministic() -> None:
    """The same image always gives the same cut-out."""
    alpha = blob()
    image = composite(np.full((HEIGHT, WIDTH, 3), 128, np.float32), striped_colour((250, 200, 40)), alpha)
    assert np.array_equal(np.asarray(remove_background(image)), np.asarray(remove_background(image)))
