"""Settings in PNG text chunks: round trips, unicode, and garbage that must never raise."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from lib.png_metadata import SETTINGS_KEYWORD, embed_settings, read_settings

SETTINGS = {"app": "Image Studio", "version": "0.1.0", "kind": "generation", "prompt": "a lighthouse at dusk",
            "model": "flux-2-pro", "aspect_ratio": "16:9", "created_at": "2026-01-02T03:04:05+00:00"}


def _png(size: tuple[int, int] = (80, 60), mode: str = "RGB") -> bytes:
    """A small PNG with varied pixels."""
    image = Image.linear_gradient("L").resize(size).convert(mode)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _chunk(chunk_type: bytes, data: bytes) -> bytes:
    """One raw PNG chunk with a correct CRC."""
    return struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", zlib.crc32(chunk_type + data))


def _with_chunk_before_idat(png: bytes, chunk: bytes) -> bytes:
    """Insert a raw chunk right before the first IDAT."""
    at = png.index(b"IDAT") - 4
    return png[:at] + chunk + png[at:]


def test_settings_round_trip() -> None:
    """What embed_settings writes, read_settings returns unchanged."""
    assert read_settings(embed_settings(_png(), SETTINGS)) == SETTINGS


def test_unicode_and_emoji_prompt_round_trip() -> None:
    """Non-Latin scripts and emoji survive byte for byte."""
    prompt = "東京の夜景 🌃 — ночной город, مدينة في الليل, 🐶🐱 café"
    settings = {**SETTINGS, "prompt": prompt}
    png = embed_settings(_png(), settings)
    assert read_settings(png)["prompt"] == prompt
    assert Image.open(io.BytesIO(png)).info["prompt"] == prompt


def test_longest_prompt_round_trip_and_is_compressed() -> None:
    """A 10,000-character prompt fits and is stored compressed."""
    prompt = ("a very long prompt with ünïcödé ✨ " * 400)[:10_000]
    png = embed_settings(_png(), {**SETTINGS, "prompt": prompt})
    assert read_settings(png)["prompt"] == prompt
    assert len(png) < len(_png()) + 10_000  # compressed: less than even one uncompressed copy


def test_pixels_are_untouched_and_pillow_reads_the_chunks() -> None:
    """Embedding adds text chunks only; other tools see readable prompt and model chunks."""
    original = _png(mode="RGBA")
    png = embed_settings(original, SETTINGS)
    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(png)) as after:
        assert after.info["prompt"] == SETTINGS["prompt"]
        assert after.info["model"] == SETTINGS["model"]
        assert after.info["Software"] == "Image Studio 0.1.0"
        assert after.tobytes() == before.tobytes()
    assert png.index(SETTINGS_KEYWORD.encode()) < png.index(b"IDAT")


def test_embedding_again_replaces_the_settings() -> None:
    """Re-saving an image carries one set of settings, the newest."""
    png = embed_settings(embed_settings(_png(), SETTINGS), {**SETTINGS, "prompt": "second"})
    assert read_settings(png)["prompt"] == "second"
    assert png.count(SETTINGS_KEYWORD.encode()) == 1
    assert png.count(b"iTXtprompt\0") == 1


def test_credential_like_settings_are_never_written() -> None:
    """Keys, tokens and endpoints are dropped even if a caller passes them."""
    leaky = {**SETTINGS, "api_key": "sk_live_SECRET1", "Authorization": "Bearer sk_live_SECRET2",
             "endpoint": "https://user:SECRET3@example.com", "token": "eyJSECRET4"}
    png = embed_settings(_png(), leaky)
    assert read_settings(png) == SETTINGS
    assert b"SECRET" not in png


def test_reads_a_settings_chunk_written_by_pillow() -> None:
    """A compressed iTXt written by another encoder (Pillow) is read too."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt(SETTINGS_KEYWORD, '{"prompt": "from pillow ✓"}', zip=True)
    out = io.BytesIO()
    Image.new("RGB", (64, 64)).save(out, "PNG", pnginfo=info)
    assert read_settings(out.getvalue()) == {"prompt": "from pillow ✓"}


def test_embed_refuses_a_file_that_is_not_png() -> None:
    """Embedding into a JPEG or a truncated PNG is an error, not a broken file."""
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 64)).save(jpeg, "JPEG")
    with pytest.raises(ValueError):
        embed_settings(jpeg.getvalue(), SETTINGS)
    with pytest.raises(ValueError):
        embed_settings(_png()[:-20], SETTINGS)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a png at all",
        b"\x89PNG\r\n\x1a\n",
        b"\x89PNG\r\n\x1a\n" + b"\xff" * 64,
        bytes(range(256)) * 8,
        b"\xff\xd8\xff\xe0" + b"\0" * 100,
        None,
        "a string, not bytes",
        12345,
    ],
    ids=["empty", "text", "signature-only", "signature-garbage", "random", "jpeg-header", "none", "str",
         "int"],
)
def test_read_settings_on_garbage_returns_none(data: object) -> None:
    """Anything that is not a PNG with our settings gives None and never raises."""
    assert read_settings(data) is None  # type: ignore[arg-type]


def test_read_settings_on_png_without_or_with_broken_settings_returns_none() -> None:
    """Plain PNGs, truncated ones, bad CRCs, non-object JSON, bad UTF-8 and zip bombs all give None."""
    png = _png()
    good = embed_settings(png, SETTINGS)
    itxt = b"image-studio\0\0\0\0\0"
    bad_crc = bytearray(good)
    bad_crc[good.index(SETTINGS_KEYWORD.encode()) + 20] ^= 0xFF
    bomb = zlib.compress(b"[" * 50_000_000, 9)
    cases = [
        png,
        good[: good.index(SETTINGS_KEYWORD.encode()) + 10],
        bytes(bad_crc),
        _with_chunk_before_idat(png, _chunk(b"iTXt", itxt + b'["a list"]')),
        _with_chunk_before_idat(png, _chunk(b"iTXt", itxt + b"{not json")),
        _with_chunk_before_idat(png, _chunk(b"iTXt", itxt + b"\xff\xfe\xfd")),
        _with_chunk_before_idat(png, _chunk(b"iTXt", b"image-studio\0\x01\0\0\0" + bomb)),
        _with_chunk_before_idat(png, _chunk(b"iTXt", b"image-studio")),
        _with_chunk_before_idat(png, _chunk(b"iTXt", b"image-studio\0\x01\x05\0\0" + b"xx")),
    ]
    for case in cases:
        assert read_settings(case) is None
