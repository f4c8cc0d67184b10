"""Preview generator: a deterministic scene composed from the prompt's words, rendered at ~1 MP.

The two models draw the same scene differently, as the real ones differ: flux-2-klein-9b renders at
half resolution with a flatter palette (faster, simpler), flux-2-pro at full resolution with a detail
pass. The label names the model that drew the preview.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from lib.contract import ASPECT_RATIOS, DEFAULT_ASPECT_RATIO, aspect_ratio_value
from lib.local_studio.engines.canvas import Canvas
from lib.local_studio.engines.edits import edit_image
from lib.local_studio.engines.figures import draw_abstract, draw_interior, draw_subject
from lib.local_studio.engines.landscape import (
    draw_blossoms,
    draw_city,
    draw_garden,
    draw_ground,
    draw_mountains,
    draw_pond,
    draw_sky,
    draw_trees,
    draw_water,
)
from lib.local_studio.engines.scene import Scene
from lib.local_studio.engines.styles import apply_style, posterize_kmeans, style_of

__all__ = ["edit_image", "output_size", "render_preview"]

_TARGET_PIXELS = 1024 * 1024
_DRAFT_MODEL = "flux-2-klein-9b"  # the fast model: drafts at half resolution, in fewer colours
_DRAFT_COLOURS = 20


def output_size(aspect_ratio: str | None) -> tuple[int, int]:
    """Width and height of about one megapixel at the ratio, both multiples of 16 (None means 1:1)."""
    ratio_name = aspect_ratio or DEFAULT_ASPECT_RATIO
    if ratio_name not in ASPECT_RATIOS:
        raise ValueError(f"unknown aspect ratio {ratio_name!r}")
    ratio = aspect_ratio_value(ratio_name)
    width = math.sqrt(_TARGET_PIXELS * ratio)
    height = width / ratio
    return max(16, round(width / 16) * 16), max(16, round(height / 16) * 16)


def _seed(prompt: str) -> int:
    """A stable seed from the prompt's text (Python's hash() changes between runs)."""
    return int.from_bytes(hashlib.sha256(prompt.encode("utf-8")).digest()[:8], "little")


def label_text(model: str | None) -> str:
    """The words of a preview's label: that it is a preview, and which model drew it."""
    return f"Preview · {model}" if model else "Preview"


def _label(image: Image.Image, text: str) -> Image.Image:
    """A small, unobtrusive label in the lower right corner."""
    size = max(12, image.height // 48)
    font = ImageFont.load_default(size=size)
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = size // 2
    x1, y1 = image.width - pad, image.height - pad
    x0, y0 = x1 - (right - left) - 2 * pad, y1 - (bottom - top) - 2 * pad
    draw.rounded_rectangle((x0, y0, x1, y1), radius=pad, fill=(0, 0, 0, 110))
    draw.text((x0 + pad - left, y0 + pad - top), text, font=font, fill=(255, 255, 255, 220))
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def render_preview(prompt: str, width: int, height: int, model: str | None = None) -> Image.Image:
    """A deterministic RGB preview of the prompt as the model would draw it, labelled with the model."""
    draft = model == _DRAFT_MODEL
    if draft:
        pixels = _render_scene(prompt, max(16, width // 2), max(16, height // 2))
        pixels = posterize_kmeans(pixels, _DRAFT_COLOURS)
        drawn = Image.fromarray(pixels, "RGB").resize((width, height), Image.Resampling.BILINEAR)
    else:
        pixels = _render_scene(prompt, width, height)
        drawn = Image.fromarray(pixels, "RGB")
        if model:  # the high-fidelity model: finer texture and crisper edges than the draft
            drawn = drawn.filter(ImageFilter.UnsharpMask(radius=2, percent=90, threshold=1))
    return _label(drawn, label_text(model))


def _render_scene(prompt: str, width: int, height: int) -> np.ndarray:
    """The prompt's scene, styled as it asks, as RGB uint8 pixels."""
    rng = np.random.default_rng(_seed(prompt))
    scene = Scene(prompt)
    canvas = Canvas(width, height)
    if scene.interior:
        draw_interior(canvas, scene, rng)
        ground_y = 0.9
    elif scene.abstract:
        draw_abstract(canvas, scene, rng)
        ground_y = 0.85
    else:
        horizon_y = 0.55 if scene.water else 0.66 if scene.waterfront else 0.62
        draw_sky(canvas, scene, rng, horizon_y)
        if scene.mountains:
            draw_mountains(canvas, scene, rng, horizon_y)
        draw_ground(canvas, scene, rng, horizon_y)
        if scene.city:
            draw_city(canvas, scene, rng, horizon_y)
        if scene.forest:
            draw_trees(canvas, scene, rng, horizon_y)
        if scene.water or scene.waterfront:
            draw_water(canvas, scene, rng, horizon_y, horizon_y + (0.005 if scene.city else 0.0))
        if scene.garden and not scene.city:
            draw_garden(canvas, scene, rng, horizon_y)
            if not scene.water:
                draw_pond(canvas, scene, rng, horizon_y)
        if scene.blossoms:
            draw_blossoms(canvas, scene, rng, horizon_y)
        ground_y = 0.9
    draw_subject(canvas, scene, rng, ground_y)
    pixels = np.clip(canvas.pixels, 0, 255).astype(np.uint8)
    return apply_style(style_of(prompt), pixels, rng)
