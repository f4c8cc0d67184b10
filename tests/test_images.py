"""Image input handling: broken, hostile, huge, tiny and unusual files, and the data-URL helpers."""

from __future__ import annotations

import base64
import io
import os
import struct
import zlib

import pytest
from PIL import Image, ImageDraw

from lib.contract import MAX_BODY_BYTES, MAX_PIXELS
from lib.images import (
    BOMB_PIXELS,
    ImageInputError,
    decode_data_url,
    encode_png,
    input_image_budget,
    load_image,
    prepare_input_image,
    to_data_url,
    to_rgb_or_rgba,
)


def saved(image: Image.Image, fmt: str, **options: object) -> bytes:
    """The image encoded in `fmt`."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height but whose data is a few bytes: nothing big is allocated."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(1024)))
        + chunk(b"IEND", b"")
    )


def opened(data: bytes) -> Image.Image:
    """The encoded bytes decoded again, for checking what prepare_input_image produced."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_text_file_renamed_png_is_refused_by_name() -> None:
    """A text file called .png is refused with a message naming it."""
    with pytest.raises(ImageInputError, match=r"^notes\.png is not an image"):
        load_image(b"shopping list: eggs, milk, bread\n", name="notes.png")


def test_zero_bytes_is_refused() -> None:
    """An empty file is refused as empty."""
    with pytest.raises(ImageInputError, match=r"empty\.jpg is empty"):
        load_image(b"", name="empty.jpg")


def test_truncated_jpeg_is_refused(samples_dir) -> None:
    """A JPEG cut in half is refused as damaged or incomplete, not half-decoded."""
    photo = (samples_dir / "coffee.jpg").read_bytes()
    with pytest.raises(ImageInputError, match=r"coffee\.jpg is damaged or incomplete"):
        load_image(photo[: len(photo) // 2], name="coffee.jpg")


def test_truncated_png_is_refused() -> None:
    """A PNG missing its tail is refused."""
    data = saved(Image.linear_gradient("L").convert("RGB").resize((300, 300)), "PNG")
    with pytest.raises(ImageInputError, match=r"cut\.png"):
        load_image(data[: len(data) - 300], name="cut.png")


@pytest.mark.parametrize("side", [100_000, 12_000])
def test_png_bomb_is_refused_before_decoding(side: int) -> None:
    """A PNG declaring far too many pixels is refused from its header alone (Pillow's limit or ours)."""
    assert side * side > BOMB_PIXELS
    with pytest.raises(ImageInputError, match=r"bomb\.png"):
        load_image(png_declaring(side, side), name="bomb.png")
    with pytest.raises(ImageInputError):
        prepare_input_image(png_declaring(side, side), name="bomb.png")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_10000_square_is_downscaled_not_refused(fmt: str) -> None:
    """A 10,000 x 10,000 picture comes out at most MAX_PIXELS and small enough for one request body."""
    picture = Image.new("L", (10_000, 10_000), 40)
    ImageDraw.Draw(picture).ellipse((2_000, 2_000, 8_000, 8_000), fill=220)
    data = saved(picture, fmt, **({"compress_level": 1} if fmt == "PNG" else {"quality": 90}))
    del picture
    encoded, mime = prepare_input_image(data, name="scan")
    result = opened(encoded)
    assert result.width * result.height <= MAX_PIXELS
    assert result.width == result.height >= 2_000
    assert result.mode == "RGB"
    assert mime in ("image/png", "image/jpeg")
    assert len(to_data_url(encoded, mime)) <= MAX_BODY_BYTES
    centre, corner = result.getpixel((result.width // 2, result.height // 2)), result.getpixel((5, 5))
    assert centre[0] > 180 > 80 > corner[0]  # the picture survived the shrink


def test_tiny_image_is_refused() -> None:
    """A 40 x 40 image is refused: each side must be at least 64 pixels."""
    with pytest.raises(ImageInputError, match=r"icon\.png is too small \(40 x 40 pixels\)"):
        prepare_input_image(saved(Image.new("RGB", (40, 40)), "PNG"), name="icon.png")


def test_long_thin_image_that_cannot_shrink_is_refused() -> None:
    """A strip that would drop below 64 px on its short side when shrunk is refused, not mangled."""
    strip = saved(Image.new("L", (64, 80_000), 90), "PNG")
    with pytest.raises(ImageInputError, match="long and thin"):
        prepare_input_image(strip, name="strip.png")


def test_cmyk_jpeg_becomes_rgb_with_the_right_colour() -> None:
    """A CMYK JPEG is converted to RGB without inverting or shifting its colour."""
    data = saved(Image.new("CMYK", (128, 96), (0, 255, 255, 0)), "JPEG", quality=95)
    encoded, mime = prepare_input_image(data, name="print.jpg")
    result = opened(encoded)
    assert (mime, result.mode) == ("image/jpeg", "RGB")
    red, green, blue = result.getpixel((64, 48))
    assert red > 200 and green < 60 and blue < 60


def test_16_bit_png_is_scaled_not_clipped_to_white() -> None:
    """A 16-bit greyscale PNG keeps its tones: mid-grey stays mid-grey."""
    deep = Image.new("I;16", (128, 128), 32_896)
    data = saved(deep, "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    encoded, _mime = prepare_input_image(data, name="scan16.png")
    result = opened(encoded)
    assert result.mode == "RGB"
    assert all(120 <= value <= 136 for value in result.getpixel((10, 10)))


def test_palette_png_with_transparency_keeps_its_alpha() -> None:
    """A palette PNG with a transparent index becomes an RGBA PNG, transparent where it was."""
    picture = Image.new("P", (100, 80), 0)
    picture.putpalette([255, 255, 255, 0, 0, 255] + [0] * 762)
    ImageDraw.Draw(picture).rectangle((50, 0, 99, 79), fill=1)
    data = saved(picture, "PNG", transparency=0)
    encoded, mime = prepare_input_image(data, name="logo.png")
    result = opened(encoded)
    assert (mime, result.mode) == ("image/png", "RGBA")
    assert result.getpixel((10, 10))[3] == 0
    assert result.getpixel((80, 10)) == (0, 0, 255, 255)


def test_grey_with_alpha_becomes_rgba() -> None:
    """An LA (grey + alpha) PNG becomes RGBA and keeps its transparency."""
    data = saved(Image.new("LA", (96, 96), (128, 0)), "PNG")
    encoded, mime = prepare_input_image(data, name="mask.png")
    result = opened(encoded)
    assert (mime, result.mode) == ("image/png", "RGBA")
    assert result.getpixel((5, 5))[3] == 0


def test_animated_gif_gives_its_first_frame() -> None:
    """An animated GIF is used by its first frame, as a still image."""
    frames = [Image.new("RGB", (96, 96), colour) for colour in ("red", "lime", "blue")]
    data = saved(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert load_image(data, name="anim.gif").convert("RGB").getpixel((5, 5)) == (255, 0, 0)
    encoded, mime = prepare_input_image(data, name="anim.gif")
    result = opened(encoded)
    assert mime == "image/png"
    assert getattr(result, "n_frames", 1) == 1
    assert result.convert("RGB").getpixel((5, 5)) == (255, 0, 0)


def test_exif_rotated_jpeg_comes_out_upright() -> None:
    """A JPEG stored sideways with EXIF orientation 6 comes out upright, with no orientation tag left."""
    stored = Image.new("RGB", (200, 100), (0, 0, 255))
    ImageDraw.Draw(stored).rectangle((0, 0, 99, 99), fill=(255, 0, 0))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    data = saved(stored, "JPEG", quality=95, exif=exif.tobytes())
    upright = load_image(data, name="phone.jpg")
    assert upright.size == (100, 200)
    assert upright.getpixel((50, 20))[0] > 200  # red on top
    encoded, _mime = prepare_input_image(data, name="phone.jpg")
    result = opened(encoded)
    assert result.size == (100, 200)
    assert result.getexif().get(0x0112) in (None, 1)
    assert result.getpixel((50, 20))[0] > 200 and result.getpixel((50, 180))[2] > 200


def test_noisy_png_falls_back_to_jpeg_within_the_budget() -> None:
    """A lossless image too big for the budget is re-encoded (quality, then size) until it fits."""
    noise = Image.frombytes("RGB", (1000, 1000), os.urandom(1000 * 1000 * 3))
    encoded, mime = prepare_input_image(saved(noise, "PNG"), name="noise.png", max_bytes=150_000)
    assert mime == "image/jpeg"
    assert len(encoded) <= 150_000
    assert min(opened(encoded).size) >= 64


def test_small_png_stays_png_and_photos_stay_jpeg(samples_dir) -> None:
    """A small lossless picture stays PNG (no JPEG artefacts); a photo is sent as JPEG."""
    _, mime = prepare_input_image(saved(Image.new("RGB", (200, 100), "teal"), "PNG"), name="flat.png")
    assert mime == "image/png"
    encoded, mime = prepare_input_image((samples_dir / "astronaut.jpg").read_bytes(), name="astronaut.jpg")
    assert mime == "image/jpeg"
    assert opened(encoded).size == Image.open(samples_dir / "astronaut.jpg").size


def test_budget_shares_the_body_between_images() -> None:
    """Eight images share one body: each budget, as base64, fits MAX_BODY_BYTES together."""
    assert input_image_budget(8) * 8 * 4 // 3 < MAX_BODY_BYTES
    assert input_image_budget(1) * 4 // 3 < MAX_BODY_BYTES
    assert input_image_budget(1) > 7_000_000


def test_data_url_round_trip() -> None:
    """to_data_url and decode_data_url are inverses."""
    data = saved(Image.new("RGB", (64, 64), "red"), "PNG")
    url = to_data_url(data, "image/png")
    assert url.startswith("data:image/png;base64,")
    assert decode_data_url(url) == data


def test_bare_and_sloppy_base64_is_accepted() -> None:
    """Bare base64, with line breaks, the URL-safe alphabet or no padding, decodes."""
    data = bytes(range(256)) * 3 + b"\xfb\xff"
    text = base64.b64encode(data).decode()
    assert decode_data_url(text) == data
    assert decode_data_url("\n".join(text[i : i + 76] for i in range(0, len(text), 76))) == data
    assert decode_data_url(base64.urlsafe_b64encode(data).decode().rstrip("=")) == data


@pytest.mark.parametrize(
    "value", ["data:image/png;base64,", "data:image/png;base64", "not base64 at all!", ""]
)
def test_broken_data_urls_are_refused(value: str) -> None:
    """Empty, headless or non-base64 data is an ImageInputError naming the field."""
    with pytest.raises(ImageInputError, match="input_image"):
        decode_data_url(value, name="input_image")


def test_float_image_is_scaled_to_grey_levels() -> None:
    """A float image in 0..1 (0.8) becomes grey 204, not black."""
    assert to_rgb_or_rgba(Image.new("F", (70, 70), 0.8)).getpixel((0, 0)) == (204, 204, 204)


def test_encode_png_handles_modes_png_cannot_hold() -> None:
    """encode_png writes RGBA as is and converts CMYK to RGB."""
    rgba = opened(encode_png(Image.new("RGBA", (70, 70), (1, 2, 3, 4))))
    assert (rgba.format, rgba.mode, rgba.getpixel((0, 0))) == ("PNG", "RGBA", (1, 2, 3, 4))
    cmyk = opened(encode_png(Image.new("CMYK", (70, 70), (0, 0, 0, 0))))
    assert (cmyk.format, cmyk.mode) == ("PNG", "RGB")
