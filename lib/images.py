"""Safe handling of images people upload or servers send: decode, check, orient, shrink, re-encode."""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import math
import urllib.parse
import warnings

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from lib.contract import MAX_BODY_BYTES, MAX_PIXELS, MIN_SIDE_PX

# Declared pixels above this are refused before any decoding. It sits above 100 MP so that photos from
# high-resolution cameras (and a 10,000 x 10,000 scan) are shrunk rather than refused, and below Pillow's
# own hard limit (2 x Image.MAX_IMAGE_PIXELS), which we leave untouched for the rest of the process.
BOMB_PIXELS = 2**27

# Room in a JSON body for everything but the images: a 10,000-character prompt escaped as \uXXXX
# (60 kB), field names and the data-URL prefixes.
BODY_RESERVE_BYTES = 128 * 1024

# Modes Pillow can write to PNG as they are.
_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})
_RESIZABLE_MODES = frozenset({"L", "LA", "RGB", "RGBA", "CMYK", "I", "F"})
_RGB_PROFILE_MODES = frozenset({"RGB", "RGBA", "RGBa", "P", "PA"})
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_JPEG_QUALITIES = (92, 85, 75)


class ImageInputError(ValueError):
    """An input that is not a usable image; the message says why in plain words and names the file."""


def input_image_budget(count: int = 1) -> int:
    """Largest encoded size in bytes for each of `count` input images so the JSON body fits the limit."""
    per_image_text = (MAX_BODY_BYTES - BODY_RESERVE_BYTES) // max(1, count)
    return per_image_text * 3 // 4  # base64 turns every 3 bytes into 4 characters


def load_image(data: bytes, *, name: str = "image", max_pixels: int | None = None) -> Image.Image:
    """Decode an image fully after safety checks, upright (EXIF orientation applied), first frame only."""
    if not data:
        raise ImageInputError(f"{name} is empty (0 bytes), so it is not an image.")
    image = _open_lazily(data, name)
    width, height = image.size
    if width * height > BOMB_PIXELS:
        raise ImageInputError(_too_large_message(name, width, height))
    if min(width, height) < MIN_SIDE_PX:
        raise ImageInputError(
            f"{name} is too small ({width} x {height} pixels): "
            f"each side must be at least {MIN_SIDE_PX} pixels."
        )
    if max_pixels and image.format == "JPEG" and width * height > max_pixels:
        # JPEG can decode at 1/2, 1/4 or 1/8 scale: far less memory and time for huge photos.
        scale = math.sqrt(max_pixels / (width * height))
        image.draft(None, (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))))
    try:
        image.load()
    except Exception as exc:  # Pillow's decoders raise many types (OSError, SyntaxError, struct.error, ...)
        raise ImageInputError(
            f"{name} is damaged or incomplete (the file may be cut short), so it can't be read."
        ) from exc
    # Broken EXIF metadata is no reason to refuse an otherwise good picture.
    with contextlib.suppress(Exception):
        ImageOps.exif_transpose(image, in_place=True)
    return image


def prepare_input_image(
    data: bytes, *, name: str = "image", max_bytes: int | None = None
) -> tuple[bytes, str]:
    """Make an upload safe to send: RGB/RGBA, at most MAX_PIXELS, re-encoded within the body budget."""
    budget = max_bytes if max_bytes is not None else input_image_budget(1)
    image = load_image(data, name=name, max_pixels=MAX_PIXELS)
    lossless_source = image.format not in ("JPEG", "MPO")
    if image.mode in _RESIZABLE_MODES and "transparency" not in image.info:
        # Shrink before converting: a 100 MP grey scan would take 300 MB as RGB.
        image = to_rgb_or_rgba(_fit_pixels(image, MAX_PIXELS, name), name=name)
    else:  # palette and 1-bit images only resize with nearest-neighbour, so convert them first
        image = _fit_pixels(to_rgb_or_rgba(image, name=name), MAX_PIXELS, name)
    while True:
        encoded = _encode_within(image, budget, lossless_source)
        if encoded is not None:
            return encoded
        # Still too big at the lowest quality we accept: shrink and try again.
        width, height = image.size
        image = _resize(image, max(1, int(width * 0.8)), max(1, int(height * 0.8)), name)


def to_rgb_or_rgba(image: Image.Image, *, name: str = "image") -> Image.Image:
    """Convert any mode (CMYK, 16-bit, float, palette, grey + alpha...) to RGB, or to RGBA if transparent.

    Orientation is left alone: load_image applies EXIF rotation, callers with an image of their own
    use ImageOps.exif_transpose first.
    """
    mode = image.mode
    has_alpha = mode in _ALPHA_MODES or "transparency" in image.info
    if mode in ("RGB", "RGBA") and not (mode == "RGB" and has_alpha):
        return image
    if mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        converted = _high_depth_to_8bit(image).convert("RGB")
    elif mode == "CMYK":
        converted = _cmyk_to_rgb(image)
    else:
        try:
            converted = image.convert("RGBA" if has_alpha else "RGB")
        except (ValueError, OSError) as exc:
            raise ImageInputError(f"{name} uses a colour format ({mode}) that can't be converted.") from exc
    if mode not in _RGB_PROFILE_MODES:
        # A grey or CMYK ICC profile copied onto RGB pixels would make viewers show the wrong colours.
        converted.info.pop("icc_profile", None)
    return converted


def encode_png(image: Image.Image, *, compress_level: int = 6) -> bytes:
    """PNG bytes of an image (modes PNG can't hold are converted to RGB or RGBA first).

    compress_level runs from 0 (none) to 9; 1 is about 3x faster than the default 6 for slightly
    bigger files, the better trade where the bytes only cross the loopback interface.
    """
    if image.mode not in _PNG_MODES:
        image = to_rgb_or_rgba(image)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def to_data_url(data: bytes, mime: str) -> str:
    """A data: URL carrying the bytes as base64."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def decode_data_url(value: str, *, name: str = "image") -> bytes:
    """Bytes of a data:image/...;base64,... URL or of bare base64 text."""
    text = value.strip()
    if text[:5].lower() == "data:":
        header, comma, payload = text.partition(",")
        if not comma:
            raise ImageInputError(f"{name} is a data URL with no data after its header.")
        if ";base64" not in header.lower():
            raw = urllib.parse.unquote_to_bytes(payload)
            if not raw:
                raise ImageInputError(f"{name} is a data URL with no data.")
            return raw
    else:
        payload = text
    # Tolerate line breaks, the URL-safe alphabet and missing padding: all common in the wild.
    payload = "".join(payload.split()).replace("-", "+").replace("_", "/")
    payload += "=" * (-len(payload) % 4)
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageInputError(f"{name} is not valid base64 image data.") from exc
    if not raw:
        raise ImageInputError(f"{name} contains no image data.")
    return raw


def _open_lazily(data: bytes, name: str) -> Image.Image:
    """Image.open reads only the header; our own size check runs before anything is decoded."""
    try:
        with warnings.catch_warnings():
            # Between Pillow's warning threshold and BOMB_PIXELS the size is acceptable to us.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageInputError(f"{name} declares far too many pixels to be opened safely.") from exc
    except UnidentifiedImageError as exc:
        raise ImageInputError(
            f"{name} is not an image we can read (use JPEG, PNG, WebP or GIF)."
        ) from exc
    except Exception as exc:  # malformed headers surface as assorted exception types
        raise ImageInputError(f"{name} is damaged, so it can't be read.") from exc


def _too_large_message(name: str, width: int, height: int) -> str:
    megapixels = width * height / 1_000_000
    return (
        f"{name} is too large ({width} x {height} pixels, {megapixels:,.0f} megapixels); "
        f"the limit is {BOMB_PIXELS // 1_000_000} megapixels."
    )


def _high_depth_to_8bit(image: Image.Image) -> Image.Image:
    """16-bit and float greys scaled to 0..255 (a plain convert would clip almost everything to white)."""
    if image.mode != "F" and image.mode != "I":
        image = image.convert("I")
    low, high = _band_range(image)
    if image.mode == "F" and high <= 1.0 and low >= 0.0:
        scale = 255.0
    elif high <= 255:
        scale = 1.0
    elif high <= 65535:
        scale = 255.0 / 65535.0
    else:
        scale = 255.0 / float(high)
    return image.point(lambda value: value * scale).convert("L")


def _band_range(image: Image.Image) -> tuple[float, float]:
    """(lowest, highest) value of a single-band image (L, I, F or one channel of a colour image)."""
    low, high = image.getextrema()
    if isinstance(low, tuple) or isinstance(high, tuple):  # Pillow gives one pair per band for colour
        raise ValueError(f"a single-band image is needed here image, not {image.mode}")
    return float(low), float(high)


def _cmyk_to_rgb(image: Image.Image) -> Image.Image:
    """CMYK through its embedded ICC profile when there is one: a naive conversion shifts colours."""
    profile = image.info.get("icc_profile")
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            converted = ImageCms.profileToProfile(
                image, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
    return image.convert("RGB")


def _fit_pixels(image: Image.Image, max_pixels: int, name: str) -> Image.Image:
    width, height = image.size
    if width * height <= max_pixels:
        return image
    scale = math.sqrt(max_pixels / (width * height))
    new_width, new_height = max(1, int(width * scale)), max(1, int(height * scale))
    while new_width * new_height > max_pixels:
        new_width, new_height = new_width - 1, max(1, int((new_width - 1) * height / width))
    return _resize(image, new_width, new_height, name)


def _resize(image: Image.Image, width: int, height: int, name: str) -> Image.Image:
    if min(width, height) < MIN_SIDE_PX:
        raise ImageInputError(
            f"{name} is too long and thin to shrink to the size limit and keep each side at least "
            f"{MIN_SIDE_PX} pixels."
        )
    # reducing_gap: a cheap box reduction first, then Lanczos; same quality, much faster on big images.
    return image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode_within(image: Image.Image, budget: int, lossless_source: bool) -> tuple[bytes, str] | None:
    """The best encoding that fits the budget, or None when even the smallest attempt doesn't."""
    icc = image.info.get("icc_profile")  # kept: a wide-gamut (e.g. Display P3) photo keeps its colours
    if image.mode == "RGBA" or lossless_source:
        png = _save(image, "PNG", icc_profile=icc)
        if len(png) <= budget:
            return png, "image/png"
        if image.mode == "RGBA":  # transparency rules out JPEG
            return None
    for quality in _JPEG_QUALITIES:
        jpeg = _save(image, "JPEG", quality=quality, icc_profile=icc)
        if len(jpeg) <= budget:
            return jpeg, "image/jpeg"
    return None


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **{key: value for key, value in options.items() if value is not None})
    return buffer.getvalue()
