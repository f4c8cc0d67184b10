"""Settings carried inside PNG files as iTXt text chunks, so a downloaded image can restore its settings."""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SETTINGS_KEYWORD = "image-studio"
# Settings that are also written as their own plain chunks, for people reading the file with other tools.
READABLE_KEYWORDS: tuple[str, ...] = ("prompt", "model", "aspect_ratio", "kind", "created_at")
SOFTWARE_KEYWORD = "Software"

# Chunks longer than this are zlib-compressed (iTXt allows it); prompts go up to 10,000 characters.
_COMPRESS_OVER_BYTES = 1024
# Reading never inflates more than this, so a crafted chunk cannot exhaust memory.
_MAX_SETTINGS_BYTES = 1_000_000
# Setting names that could carry a credential: never written into a file someone may share.
_SECRET_NAME = re.compile(
    r"key|token|secret|password|passwd|authori[sz]ation|bearer|credential|endpoint|cookie", re.IGNORECASE
)


def embed_settings(png: bytes, settings: Mapping[str, Any]) -> bytes:
    """Return the PNG with the settings in iTXt chunks (replacing ours if present); pixels untouched."""
    chunks = list(_iter_chunks(png, strict=True))
    safe = {str(name): value for name, value in settings.items() if not _SECRET_NAME.search(str(name))}
    ours = {SETTINGS_KEYWORD, SOFTWARE_KEYWORD, *READABLE_KEYWORDS}
    new_chunks = [_itxt(SETTINGS_KEYWORD, json.dumps(safe, ensure_ascii=False, sort_keys=True))]
    for name in READABLE_KEYWORDS:
        if safe.get(name) is not None:
            new_chunks.append(_itxt(name, str(safe[name])))
    if safe.get("app"):
        new_chunks.append(_itxt(SOFTWARE_KEYWORD, f"{safe['app']} {safe.get('version') or ''}".strip()))

    out = [PNG_SIGNATURE]
    inserted = False
    for chunk_type, data, raw in chunks:
        if chunk_type in (b"iTXt", b"tEXt", b"zTXt") and _keyword(data) in ours:
            continue  # a re-saved image gets fresh settings, not two sets
        if not inserted and chunk_type in (b"IDAT", b"IEND"):
            # Before the pixels, so readers that stop at the first IDAT (and Pillow's .info) see them.
            out.extend(new_chunks)
            inserted = True
        out.append(raw)
    return b"".join(out)


def read_settings(png: bytes) -> dict[str, Any] | None:
    """Settings embedded by embed_settings, or None for any other file, a PNG without them, or garbage."""
    try:
        for chunk_type, data, _raw in _iter_chunks(png, strict=False):
            if chunk_type in (b"IDAT", b"IEND"):
                return None
            if chunk_type in (b"iTXt", b"tEXt", b"zTXt") and _keyword(data) == SETTINGS_KEYWORD:
                text = _chunk_text(chunk_type, data)
                value = json.loads(text) if text is not None else None
                return value if isinstance(value, dict) else None
    except (ValueError, TypeError, struct.error, zlib.error, RecursionError):
        return None
    return None


def _iter_chunks(png: bytes, *, strict: bool) -> Iterator[tuple[bytes, bytes, bytes]]:
    """Yield (type, data, raw chunk bytes) up to IEND; strict mode raises on a malformed file."""
    if not isinstance(png, bytes | bytearray | memoryview) or bytes(png[:8]) != PNG_SIGNATURE:
        raise ValueError("not a PNG file")
    view = memoryview(png)
    pos = 8
    while pos + 12 <= len(view):
        (length,) = struct.unpack(">I", view[pos:pos + 4])
        end = pos + 12 + length
        if end > len(view):
            break
        chunk_type = bytes(view[pos + 4:pos + 8])
        data = bytes(view[pos + 8:pos + 8 + length])
        (crc,) = struct.unpack(">I", view[end - 4:end])
        if zlib.crc32(chunk_type + data) != crc:
            if strict:
                raise ValueError(f"corrupt PNG chunk {chunk_type!r}")
            pos = end
            continue
        yield chunk_type, data, bytes(view[pos:end])
        if chunk_type == b"IEND":
            return
        pos = end
    if strict:
        raise ValueError("truncated PNG file (no IEND chunk)")


def _keyword(data: bytes) -> str:
    """The keyword that starts every text chunk (Latin-1, up to the first NUL)."""
    return data.split(b"\0", 1)[0].decode("latin-1")


def _chunk_text(chunk_type: bytes, data: bytes) -> str | None:
    """Decoded text of a tEXt, zTXt or iTXt chunk, or None when it is malformed."""
    _keyword_bytes, sep, rest = data.partition(b"\0")
    if not sep:
        return None
    if chunk_type == b"tEXt":
        return rest.decode("latin-1")
    if chunk_type == b"zTXt":
        return _inflate(rest[1:]).decode("latin-1") if rest[:1] == b"\0" else None
    # iTXt: compression flag, method, language tag NUL, translated keyword NUL, text (UTF-8).
    if len(rest) < 2:
        return None
    flag, method = rest[0], rest[1]
    parts = rest[2:].split(b"\0", 2)
    if len(parts) != 3:
        return None
    text = parts[2]
    if flag == 1:
        if method != 0:
            return None
        text = _inflate(text)
    return text.decode("utf-8")


def _inflate(data: bytes) -> bytes:
    """zlib-inflate with a size cap; a chunk that would inflate past it is refused."""
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, _MAX_SETTINGS_BYTES)
    if inflater.unconsumed_tail:
        raise ValueError("text chunk inflates past the size limit")
    return out


def _itxt(keyword: str, text: str) -> bytes:
    """One complete iTXt chunk (length, type, data, CRC); compressed when long."""
    payload = text.encode("utf-8")
    flag = 0
    if len(payload) > _COMPRESS_OVER_BYTES:
        payload, flag = zlib.compress(payload, 9), 1
    data = keyword.encode("latin-1") + b"\0" + bytes((flag, 0)) + b"\0" + b"\0" + payload
    return struct.pack(">I", len(data)) + b"iTXt" + data + struct.pack(">I", zlib.crc32(b"iTXt" + data))
