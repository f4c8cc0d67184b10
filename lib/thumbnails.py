"""Small derived pictures: history thumbnails, transparency previews and JPEG copies on a solid colour."""

from __future__ import annotations

import io
import re

import numpy as np
from PIL import Image, ImageOps

from lib.images import to_rgb_or_rgba

THUMBNAIL_MAX_SIDE = 256
# Two light greys, like image editors use, so both halos and dark fringes stand out.
CHECKER_LIGHT = 232
CHECKER_DARK = 190
_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def thumbnail_of(image: Image.Image, max_side: int = THUMBNAIL_MAX_SIDE) -> bytes:
    """A small upright copy (longest side <= max_side): JPEG when opaque, palette PNG when transparent."""
    if max_side < 1:
        raise ValueError("max_side must be at least 1 pixel")
    small = _upright(image)
    small = small.copy() if small is image else small  # thumbnail() works in place: never on the caller's
    small.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = io.BytesIO()
    if _has_transparency(small):
        # A 256-colour palette with alpha keeps cut-outs transparent at a few KB, and Streamlit shows a PNG
        # as it is (a WebP would be re-encoded on every render).
        _palette_with_alpha(small).save(out, "PNG", optimize=True)
    else:
        small.convert("RGB").save(out, "JPEG", quality=82, optimize=True)
    return out.getvalue()


def on_checkerboard(rgba_png: bytes, square: int = 16) -> bytes:
    """PNG of the image over a grey checkerboard, so transparency and halos are visible."""
    if square < 1:
        raise ValueError("square must be at least 1 pixel")
    image = _upright(Image.open(io.BytesIO(rgba_png)))
    board = _checkerboard(image.size, square)
    if image.mode == "RGBA":
        board.paste(image, (0, 0), image)
    else:
        board = image
    out = io.BytesIO()
    # A preview, shown at once and never stored: fast compression matters more than size.
    board.save(out, "PNG", compress_level=1)
    return out.getvalue()


def on_colour(rgba_png: bytes, colour: str = "#ffffff") -> Image.Image:
    """The image flattened onto a solid colour ("#rrggbb"), as an RGB Pillow image."""
    background = parse_colour(colour)
    image = _upright(Image.open(io.BytesIO(rgba_png)))
    if image.mode != "RGBA":
        return image.convert("RGB")
    flat = Image.new("RGB", image.size, background)
    flat.paste(image, (0, 0), image)
    return flat


def to_jpeg(rgba_png: bytes, colour: str = "#ffffff", quality: int = 92) -> bytes:
    """JPEG bytes of the image flattened onto a solid colour."""
    out = io.BytesIO()
    # Full-resolution colour (4:4:4) at high quality keeps a cut-out's edges clean.
    subsampling = 0 if quality >= 90 else 2
    on_colour(rgba_png, colour).save(out, "JPEG", quality=quality, subsampling=subsampling, optimize=True)
    return out.getvalue()


def parse_colour(colour: str) -> tuple[int, int, int]:
    """(r, g, b) of a "#rrggbb" (or "#rgb") colour; ValueError for anything else."""
    match = _HEX_COLOUR.fullmatch(colour.strip()) if isinstance(colour, str) else None
    if not match:
        raise ValueError(f"{colour!r} is not a colour like #ffffff")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says, in RGB or RGBA."""
    return to_rgb_or_rgba(ImageOps.exif_transpose(image))


def _palette_with_alpha(image: Image.Image) -> Image.Image:
    """RGBA image reduced to 256 colours with alpha; fully opaque and fully clear areas stay exactly so."""
    palette_image = image.quantize(256, method=Image.Quantize.FASTOCTREE)
    rgba = palette_image.getpalette("RGBA") or []
    # The octree rounds alpha (255 becomes 254): snap the ends back so solid stays solid.
    for i in range(3, len(rgba), 4):
        rgba[i] = 255 if rgba[i] >= 250 else 0 if rgba[i] <= 5 else rgba[i]
    palette_image.putpalette(rgba, "RGBA")
    return palette_image


def _has_transparency(image: Image.Image) -> bool:
    """True when an RGBA image has at least one pixel that is not fully opaque."""
    return image.mode == "RGBA" and any(image.getchannel("A").histogram()[:255])


def _checkerboard(size: tuple[int, int], square: int) -> Image.Image:
    """RGB grey checkerboard of the given size."""
    width, height = size
    columns = (np.arange(width) // square % 2).astype(np.uint8)
    rows = (np.arange(height) // square % 2).astype(np.uint8)
    dark = rows[:, None] ^ columns[None, :]  # one byte per pixel, not index grids
    grey = np.where(dark, np.uint8(CHECKER_DARK), np.uint8(CHECKER_LIGHT)).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")
