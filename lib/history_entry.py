"""What a history entry is, and the rules every history store and page applies to it.

A workspace id is an unguessable token (it lives in the page URL); whoever holds it sees that history and
nothing else. Every store filters each query on it, and ids are checked against a strict pattern before
they are used in a path or an object key. Search compares prompts and file names folded the same way in
every store.
"""

from __future__ import annotations

import builtins
import re
import secrets
import sqlite3
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

from lib import __version__

APP_NAME = "Image Studio"
KINDS: tuple[str, ...] = ("generation", "edit", "cutout", "enhancement")
# Kinds made from input images the person gave: those images are kept with the entry.
KINDS_WITH_INPUTS: frozenset[str] = frozenset({"edit", "cutout"})

_WORKSPACE_ID = re.compile(r"[A-Za-z0-9_-]{22,128}")  # token_urlsafe alphabet: no dots, no slashes
_ENTRY_ID = re.compile(r"[0-9a-f]{24}")
_INPUT_FILE = re.compile(r"[0-9a-f]{64}\.[a-z0-9]{2,5}")  # an input image: SHA-256 and extension

# The columns of an entry's row, by name, in every store's database.
_ENTRY_COLUMNS: tuple[str, ...] = (
    "id", "workspace_id", "kind", "prompt", "model", "aspect_ratio", "created_at", "credits_used", "width",
    "height", "text", "thumbnail", "has_image", "source_name",
)


def new_workspace_id() -> str:
    """A fresh random workspace id (192 bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def is_valid_workspace_id(value: object) -> bool:
    """True when value has the shape of a workspace id (URL-safe characters, 22 to 128 of them)."""
    return isinstance(value, str) and _WORKSPACE_ID.fullmatch(value) is not None


def slug(text: str, max_chars: int = 40) -> str:
    """Short ASCII file-name part ("Café crème" -> "cafe-creme"); "image" when nothing ASCII is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:max_chars].rstrip("-")
    return words or "image"


@dataclass(frozen=True)
class HistoryEntry:
    """One thing a workspace made: a generation, an edit, a cut-out or an enhanced prompt."""

    id: str
    workspace_id: str
    kind: str
    prompt: str
    model: str | None
    aspect_ratio: str | None
    created_at: float
    credits_used: int | None
    width: int | None
    height: int | None
    text: str | None
    thumbnail: bytes | None = field(repr=False)
    has_image: bool
    source_name: str | None = None  # the uploaded file a cut-out was made from, as the person named it
    input_count: int = 0  # input images kept with the entry (read them with HistoryStore.input_images)

    @property
    def title(self) -> str:
        """What people call this entry: a cut-out by the file it came from, anything else by its prompt."""
        if self.kind == "cutout" and self.source_name:
            return self.source_name
        return self.prompt

    @property
    def file_words(self) -> str:
        """The slug that names this entry's files: the uploaded file's name for a cut-out, else the prompt."""
        if self.kind == "cutout" and self.source_name:
            return slug(PurePath(self.source_name).stem)
        return slug(self.prompt)

    def settings(self) -> dict[str, Any]:
        """What may travel with a downloaded image: settings only, never the workspace id or any key."""
        return {
            "app": APP_NAME,
            "version": __version__,
            "kind": self.kind,
            "prompt": self.prompt,
            "model": self.model,
            "aspect_ratio": self.aspect_ratio,
            "created_at": datetime.fromtimestamp(self.created_at, UTC).isoformat(timespec="seconds"),
            "credits_used": self.credits_used,
            "width": self.width,
            "height": self.height,
            "enhanced_prompt": self.text,
        }


def _check_workspace_id(workspace_id: str) -> None:
    """Refuse anything that is not shaped like a workspace id before it reaches a query or a path."""
    if not is_valid_workspace_id(workspace_id):
        raise ValueError("invalid workspace id")


def _check_kind(kind: str, image_png: bytes | None, text: str | None) -> None:
    """Refuse unknown kinds, and images or texts on the wrong kind."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if kind == "enhancement":
        if image_png is not None or text is None:
            raise ValueError("an enhancement has the enhanced prompt as text and no image")
    elif image_png is None:
        raise ValueError(f"a {kind} needs its image")


def _valid_ids(workspace_id: object, entry_id: object) -> bool:
    """True when both ids have their expected shapes."""
    return (is_valid_workspace_id(workspace_id) and isinstance(entry_id, str)
            and _ENTRY_ID.fullmatch(entry_id) is not None)


def _folded(text: str) -> str:
    """Text as search compares it: case folded, accents dropped, control characters as spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    # A line break or tab separates words: as a space it can't join the words on either side of it.
    return "".join(" " if unicodedata.category(ch).startswith("C") else ch
                   for ch in decomposed if not unicodedata.combining(ch))


def _search_words(prompt: str, source_name: str | None) -> str:
    """What the search index holds for an entry: its prompt and file name, folded, one per line."""
    return _folded(prompt) + (f"\n{_folded(source_name)}" if source_name else "")


def _search_terms(search: str) -> builtins.list[str]:
    """The distinct words of a search, folded; none for an empty or blank search."""
    return list(dict.fromkeys(_folded(search).split()))


def _entry(row: sqlite3.Row | Mapping[str, Any]) -> HistoryEntry:
    """HistoryEntry from a row read with _SELECT (columns by name), from either database."""
    values = {name: row[name] for name in _ENTRY_COLUMNS}
    values["has_image"] = bool(values["has_image"])
    if values["thumbnail"] is not None and not isinstance(values["thumbnail"], bytes):
        values["thumbnail"] = bytes(values["thumbnail"])  # PostgreSQL's bytea reads as a memoryview
    return HistoryEntry(**values, input_count=int(row["input_count"]))
