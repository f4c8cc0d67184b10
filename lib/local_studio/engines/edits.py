"""Edits: prompt-driven adjustments (tone, colour, blur, style, mirror) of the input images, composed.

Several inputs are laid side by side, each filling its share of the frame; the frame has the size the
request's aspect ratio gives (as for generation), or the first image's size when none is given.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from lib.local_studio.engines import styles

Adjustment = Callable[[Image.Image, np.random.Generator], Image.Image]


def _pixels(function: Callable[..., np.ndarray], *args: object) -> Adjustment:
    """Wrap a uint8-RGB-array style function as an adjustment on PIL images."""

    def adjust(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        extra = (rng,) if function in (styles.watercolor, styles.noir) else ()
        return Image.fromarray(function(np.asarray(image), *args, *extra), "RGB")

    return adjust


def _tint(red: float, blue: float) -> Adjustment:
    """Scale the red and blue channels: >1 red and <1 blue make an image warmer."""

    def adjust(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        pixels = np.asarray(image).astype(np.float32) * np.array([red, 1.0, blue], np.float32)
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")

    return adjust


def _enhance(kind: Callable[[Image.Image], ImageEnhance._Enhance], factor: float) -> Adjustment:
    """A Pillow ImageEnhance step (brightness, contrast, colour, sharpness) by a factor."""
    return lambda image, rng: kind(image).enhance(factor)


def _blur(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A clearly visible soft blur that scales with the image."""
    return image.filter(ImageFilter.GaussianBlur(max(2.0, max(image.size) / 250)))


def _sharpen(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Unsharp mask: crisper edges without halos."""
    return image.filter(
        ImageFilter.UnsharpMask(radius=max(2.0, max(image.size) / 500), percent=160, threshold=2)
    )


def _polish(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The default when no adjustment is named: a gentle auto-contrast and a little more colour."""
    return ImageEnhance.Color(ImageOps.autocontrast(image, cutoff=1)).enhance(1.15)


def _word(pattern: str) -> re.Pattern[str]:
    """Case-insensitive whole-word pattern."""
    return re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE)


# Colour and tone first, then styles, then detail (blur/sharpen), so each reads as the user asked.
_COLOUR_STEPS: tuple[tuple[re.Pattern[str], Adjustment], ...] = (
    (_word(r"invert(?:ed)?|negative"), lambda image, rng: ImageOps.invert(image)),
    (_word(r"brighter|brighten|lighter|lighten|more light|bright"), _enhance(ImageEnhance.Brightness, 1.3)),
    (_word(r"darker|darken|dimmer|dim|less light"), _enhance(ImageEnhance.Brightness, 0.7)),
    (
        _word(r"more contrast|higher contrast|increase contrast|contrasty|punchy|punchier"),
        _enhance(ImageEnhance.Contrast, 1.35),
    ),
    (
        _word(r"less contrast|lower contrast|reduce contrast|matte|faded"),
        _enhance(ImageEnhance.Contrast, 0.7),
    ),
    (
        _word(r"saturate|saturated|more saturation|vivid|vibrant|more colou?rful|colou?rful"),
        _enhance(ImageEnhance.Color, 1.5),
    ),
    (_word(r"desaturate|desaturated|less saturation|muted|washed out"), _enhance(ImageEnhance.Color, 0.5)),
    (_word(r"warmer|warm|warmth|golden"), _tint(1.12, 0.85)),
    (_word(r"cooler|cool|colder|cold|icy"), _tint(0.87, 1.12)),
)
# How an edit renders each style of the one style list (styles.STYLE_WORDS decides which is asked for).
_STYLE_EDITS: dict[str, Adjustment] = {
    "pixel": _pixels(styles.pixelate, 64, None),
    "watercolor": _pixels(styles.watercolor),
    "sketch": _pixels(styles.sketch),
    "noir": _pixels(styles.noir),
    "grayscale": _pixels(styles.grayscale),
    "sepia": _pixels(styles.sepia),
    "oil": _pixels(styles.oil_paint),
    "posterize": lambda image, rng: ImageOps.posterize(image, 3),
    "minimalist": _pixels(styles.posterize_kmeans, 6),
}
_DETAIL_STEPS: tuple[tuple[re.Pattern[str], Adjustment], ...] = (
    (_word(r"blur|blurry|blurred|soften|softer|soft focus|dreamy|defocus"), _blur),
    (_word(r"sharpen|sharper|sharp|crisp|crisper|more detail"), _sharpen),
    (_word(r"vignette"), _pixels(styles.vignette, 0.5)),
)
_MIRROR = _word(r"mirror|mirrored|flip|flipped|flip horizontally|horizontal flip")
_VERTICAL = _word(r"upside[\s-]down|flip vertically|vertical flip|flipped vertically")


def _has_alpha(image: Image.Image) -> bool:
    """True when the image carries transparency (an alpha channel or a transparent palette entry)."""
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def _cover(image: Image.Image, width: int, height: int) -> Image.Image:
    """The image scaled to cover width x height and centre-cropped to it (nothing is stretched)."""
    scale = max(width / image.width, height / image.height)
    scaled = image.resize(
        (max(width, round(image.width * scale)), max(height, round(image.height * scale))),
        Image.Resampling.LANCZOS,
    )
    left, top = (scaled.width - width) // 2, (scaled.height - height) // 2
    return scaled.crop((left, top, left + width, top + height))


def compose(images: Sequence[Image.Image], size: tuple[int, int]) -> Image.Image:
    """The images side by side (along the frame's long side), each covering an equal panel; RGBA."""
    width, height = size
    frame = Image.new("RGBA", size, (0, 0, 0, 0))
    across = width >= height
    count = len(images)
    for index, image in enumerate(images):
        start, end = ((width if across else height) * k // count for k in (index, index + 1))
        panel = (end - start, height) if across else (width, end - start)
        frame.paste(_cover(image.convert("RGBA"), *panel), (start, 0) if across else (0, start))
    return frame


def edit_image(
    prompt: str, image: Image.Image | Sequence[Image.Image], size: tuple[int, int] | None = None
) -> Image.Image:
    """The images adjusted as the prompt asks (tone, colour, style, blur, mirror), side by side at `size`.

    One image and no size: the same size out. Alpha is kept when an input has it.
    """
    images = [image] if isinstance(image, Image.Image) else list(image)
    if not images:
        raise ValueError("an edit needs at least one image")
    size = size or images[0].size
    if len(images) == 1 and images[0].size == size:
        source = images[0]
        alpha = source.convert("RGBA").getchannel("A") if _has_alpha(source) else None
    else:
        source = compose(images, size)
        alpha = source.getchannel("A") if any(_has_alpha(i) for i in images) else None
    result = source.convert("RGB")
    if _VERTICAL.search(prompt):
        result = ImageOps.flip(result)
        alpha = ImageOps.flip(alpha) if alpha else None
    elif _MIRROR.search(prompt):
        result = ImageOps.mirror(result)
        alpha = ImageOps.mirror(alpha) if alpha else None
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(prompt.encode("utf-8")).digest()[:8], "little"))
    applied = False
    style = styles.style_of(prompt)
    asked = [adjust for pattern, adjust in _COLOUR_STEPS if pattern.search(prompt)]
    asked += [_STYLE_EDITS[style]] if style else []
    asked += [adjust for pattern, adjust in _DETAIL_STEPS if pattern.search(prompt)]
    for adjust in asked:
        result = adjust(result, rng)
    applied = bool(asked)
    if not applied and not (_VERTICAL.search(prompt) or _MIRROR.search(prompt)):
        result = _polish(result, rng)
    if result.size != size:  # every step keeps the size; this guards the promise all the same
        result = result.resize(size, Image.Resampling.LANCZOS)
    if alpha is not None:
        result.putalpha(alpha)
    return result
