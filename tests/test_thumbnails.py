"""Thumbnails, checkerboard previews and flattened JPEG copies of cut-outs."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lib.images import to_rgb_or_rgba
from lib.thumbnails import (
    CHECKER_DARK,
    CHECKER_LIGHT,
    on_checkerboard,
    on_colour,
    parse_colour,
    thumbnail_of,
    to_jpeg,
)

SAMPLES = Path(__file__).resolve().parents[1] / "assets" / "samples"


def _encode(image: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    """Bytes of an image in a format."""
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def _thumbnail(data: bytes, max_side: int = 256) -> bytes:
    """Thumbnail of encoded image bytes, opened as the store opens a result."""
    with Image.open(io.BytesIO(data)) as image:
        return thumbnail_of(image, max_side)


def _photo(size: tuple[int, int] = (1024, 1024)) -> Image.Image:
    """A real photo at the given size (RGB)."""
    return Image.open(SAMPLES / "astronaut.jpg").convert("RGB").resize(size)


def _cut_out(size: tuple[int, int] = (200, 100)) -> bytes:
    """A red rectangle in the middle of a transparent canvas, as a PNG."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4))
    return _encode(image)


def _open(data: bytes) -> Image.Image:
    """Decoded image from bytes."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_thumbnail_of_a_photo_is_a_small_jpeg_with_the_same_shape() -> None:
    """A 1 MP landscape becomes a JPEG of a few KB, longest side 256, aspect kept."""
    data = _thumbnail(_encode(_photo((1280, 720))))
    image = _open(data)
    assert image.format == "JPEG"
    assert image.size == (256, 144)
    assert len(data) < 30_000


def test_thumbnail_keeps_transparency_as_png() -> None:
    """A cut-out's thumbnail stays transparent where the cut-out is, and opaque inside it."""
    image = _open(_thumbnail(_cut_out((512, 256)))).convert("RGBA")
    assert image.size == (256, 128)
    assert image.getpixel((2, 2))[3] == 0
    assert image.getpixel((128, 64)) == (255, 0, 0, 255)


def test_thumbnail_never_upscales_and_honours_max_side() -> None:
    """Small images keep their size; max_side is respected; a zero size is refused."""
    assert _open(_thumbnail(_encode(_photo((100, 80))))).size == (100, 80)
    assert max(_open(_thumbnail(_encode(_photo((600, 900))), max_side=64)).size) == 64
    with pytest.raises(ValueError):
        _thumbnail(_encode(_photo((100, 80))), max_side=0)


def test_thumbnail_of_a_16_bit_png_keeps_its_tones() -> None:
    """16-bit greyscale is scaled to 8 bits, not clipped to white."""
    ramp = (np.tile(np.linspace(0, 65535, 256), (64, 1))).astype(np.uint16)
    image = _open(_thumbnail(_encode(Image.fromarray(ramp)))).convert("L")
    row = np.asarray(image)[image.height // 2]
    assert row[:10].mean() < 40 and row[-10:].mean() > 215


def test_thumbnail_of_a_float_image_matches_the_upload_conversion() -> None:
    """A float image of 0.8 becomes grey 204 in a thumbnail, as it does when uploaded (one conversion)."""
    image = Image.new("F", (64, 64), 0.8)
    assert to_rgb_or_rgba(image).getpixel((0, 0)) == (204, 204, 204)
    thumb = Image.open(io.BytesIO(thumbnail_of(image))).convert("RGB")
    assert all(abs(channel - 204) <= 2 for channel in thumb.getpixel((32, 32)))  # JPEG rounding


def test_thumbnail_of_a_rotated_jpeg_is_upright() -> None:
    """EXIF orientation is applied, so a portrait taken sideways shows as a portrait."""
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    data = _encode(_photo((400, 200)), "JPEG", exif=exif.tobytes())
    assert _open(_thumbnail(data)).size == (128, 256)


def test_thumbnail_of_a_palette_png_with_transparency() -> None:
    """A palette PNG with a transparent colour keeps its transparency."""
    image = Image.new("P", (100, 100), 0)
    image.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    image.paste(1, (25, 25, 75, 75))
    result = _open(_thumbnail(_encode(image, transparency=0))).convert("RGBA")
    assert result.getpixel((5, 5))[3] == 0
    assert result.getpixel((50, 50)) == (0, 200, 0, 255)


def test_on_checkerboard_shows_the_board_where_transparent() -> None:
    """Transparent areas show both greys of the board; opaque pixels keep their colour."""
    data = on_checkerboard(_cut_out((200, 100)), square=10)
    image = _open(data)
    assert image.format == "PNG" and image.mode == "RGB" and image.size == (200, 100)
    assert image.getpixel((5, 5)) == (CHECKER_LIGHT,) * 3
    assert image.getpixel((15, 5)) == (CHECKER_DARK,) * 3
    assert image.getpixel((100, 50)) == (255, 0, 0)


def test_on_checkerboard_of_an_opaque_image_is_the_image() -> None:
    """Nothing to show through: the picture is unchanged."""
    photo = _photo((128, 96))
    assert _open(on_checkerboard(_encode(photo))).tobytes() == photo.tobytes()


def test_on_colour_fills_transparency_with_the_colour() -> None:
    """Transparent pixels take the colour; opaque pixels keep theirs."""
    image = on_colour(_cut_out(), "#00ff80")
    assert image.mode == "RGB"
    assert image.getpixel((1, 1)) == (0, 255, 128)
    assert image.getpixel((100, 50)) == (255, 0, 0)


def test_to_jpeg_flattens_onto_the_colour() -> None:
    """The JPEG copy is opaque, full size, with the chosen background."""
    image = _open(to_jpeg(_cut_out(), "#0000ff"))
    assert image.format == "JPEG" and image.size == (200, 100)
    red, green, blue = image.getpixel((2, 2))
    assert blue > 240 and red < 15 and green < 15


def test_colours_are_parsed_strictly() -> None:
    """#rrggbb and #rgb are accepted; anything else is a ValueError."""
    assert parse_colour("#FFaa00") == (255, 170, 0)
    assert parse_colour("#fa0") == (255, 170, 0)
    for bad in ("red", "#12345", "#gggggg", "", "rgb(1,2,3)"):
        with pytest.raises(ValueError):
            on_colour(_cut_out(), bad)
