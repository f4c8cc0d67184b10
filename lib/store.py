"""History of what each workspace made: SQLite rows with small thumbnails, full images as PNG files.

Layout under the root folder:
    history.sqlite3            one row per entry (WAL mode), thumbnails inside the row
    images/<workspace>/<entry>.png   the full image, settings already embedded in its text chunks

A workspace id is a random, unguessable token (it lives in the page URL); whoever holds it sees that
history and nothing else. Every query filters on it, and ids are checked against a strict pattern before
they are used in a path.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
import textwrap
import threading
import time
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image

from lib import __version__, thumbnails
from lib.png_metadata import embed_settings

APP_NAME = "Image Studio"
KINDS: tuple[str, ...] = ("generation", "edit", "cutout", "enhancement")
IMAGE_KINDS: frozenset[str] = frozenset(KINDS) - {"enhancement"}
DATABASE_NAME = "history.sqlite3"
SETTINGS_FILE = "history.json"

_WORKSPACE_ID = re.compile(r"[A-Za-z0-9_-]{22,128}")  # token_urlsafe alphabet: no dots, no slashes
_ENTRY_ID = re.compile(r"[0-9a-f]{24}")
_MAX_IDLE_CONNECTIONS = 8
_EXPORT_BATCH = 256
_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    prompt       TEXT NOT NULL,
    model        TEXT,
    aspect_ratio TEXT,
    created_at   REAL NOT NULL,
    credits_used INTEGER,
    width        INTEGER,
    height       INTEGER,
    text         TEXT,
    thumbnail    BLOB,
    has_image    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_workspace
    ON entries (workspace_id, created_at DESC, seq DESC);
CREATE INDEX IF NOT EXISTS entries_by_workspace_kind
    ON entries (workspace_id, kind, created_at DESC, seq DESC);
"""
_COLUMNS = ("id, workspace_id, kind, prompt, model, aspect_ratio, created_at, credits_used, width, height, "
            "text, thumbnail, has_image")
# seq breaks ties between entries saved in the same clock tick, so "newest first" is always well defined.
_NEWEST_FIRST = "ORDER BY created_at DESC, seq DESC"


def new_workspace_id() -> str:
    """A fresh random workspace id (192 bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def is_valid_workspace_id(value: object) -> bool:
    """True when value has the shape of a workspace id (URL-safe characters, 22 to 128 of them)."""
    return isinstance(value, str) and _WORKSPACE_ID.fullmatch(value) is not None


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

    @property
    def thumbnail_mime(self) -> str | None:
        """MIME type of the thumbnail (image/jpeg, or image/png for images with transparency)."""
        if not self.thumbnail:
            return None
        return "image/png" if self.thumbnail.startswith(b"\x89PNG") else "image/jpeg"

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


class HistoryStore:
    """Thread-safe history of every workspace, in one folder; share one instance between all users."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self._images = self.root / "images"
        self._images.mkdir(parents=True, exist_ok=True)
        self._database = self.root / DATABASE_NAME
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._closed = False
        with self._connection() as db:
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    # -- writing -------------------------------------------------------------------------------------

    def add(self, workspace_id: str, kind: str, *, prompt: str, image_png: bytes | None = None,
            model: str | None = None, aspect_ratio: str | None = None, credits_used: int | None = None,
            text: str | None = None) -> HistoryEntry:
        """Save one result (image first, then its row) and return it; any decodable image is kept as PNG."""
        _check_workspace_id(workspace_id)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if not isinstance(prompt, str):
            raise ValueError("prompt must be text")
        if kind == "enhancement":
            if image_png is not None or text is None:
                raise ValueError("an enhancement has the enhanced prompt as text and no image")
        elif image_png is None:
            raise ValueError(f"a {kind} needs its image")

        png, width, height, thumb = None, None, None, None
        if image_png is not None:
            png, width, height, thumb = _prepare_image(image_png)
        entry = HistoryEntry(
            id=secrets.token_hex(12), workspace_id=workspace_id, kind=kind, prompt=prompt, model=model,
            aspect_ratio=aspect_ratio, created_at=time.time(), credits_used=credits_used, width=width,
            height=height, text=text, thumbnail=thumb, has_image=png is not None,
        )
        path = None
        if png is not None:
            # The file is complete on disk before its row exists: a crash can leave an unlisted file,
            # never a listed entry without its image.
            path = self._image_path(workspace_id, entry.id)
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(path, embed_settings(png, entry.settings()))
        try:
            with self._connection() as db:
                db.execute(
                    f"INSERT INTO entries ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    _row_values(entry),
                )
        except BaseException:
            if path is not None:
                path.unlink(missing_ok=True)
            raise
        return entry

    def delete(self, workspace_id: str, entry_id: str) -> bool:
        """Remove an entry and its image; False when this workspace has no such entry."""
        if not _valid_ids(workspace_id, entry_id):
            return False
        with self._connection() as db:
            deleted = db.execute("DELETE FROM entries WHERE workspace_id = ? AND id = ?",
                                 (workspace_id, entry_id)).rowcount == 1
        if deleted:
            # Row first, then file: a crash in between leaves an unlisted file, not a broken entry.
            self._image_path(workspace_id, entry_id).unlink(missing_ok=True)
        return deleted

    # -- reading -------------------------------------------------------------------------------------

    def list(self, workspace_id: str, *, kind: str | None = None, limit: int = 24,
             offset: int = 0) -> list[HistoryEntry]:
        """One page of a workspace's entries, newest first (thumbnails included, full images not)."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        where, params = _filter(workspace_id, kind)
        if where is None or limit == 0:
            return []
        # Page through the index alone (it covers workspace, kind, time and seq), then read only the
        # rows of that page: deep pages do not drag every skipped thumbnail through memory.
        sql = (f"SELECT {_COLUMNS} FROM entries WHERE seq IN "
               f"(SELECT seq FROM entries WHERE {where} {_NEWEST_FIRST} LIMIT ? OFFSET ?) {_NEWEST_FIRST}")
        with self._connection() as db:
            rows = db.execute(sql, (*params, limit, offset)).fetchall()
        return [_entry(row) for row in rows]

    def count(self, workspace_id: str, *, kind: str | None = None) -> int:
        """Number of entries in a workspace (optionally of one kind)."""
        where, params = _filter(workspace_id, kind)
        if where is None:
            return 0
        with self._connection() as db:
            return db.execute(f"SELECT COUNT(*) FROM entries WHERE {where}", params).fetchone()[0]

    def get(self, workspace_id: str, entry_id: str) -> HistoryEntry | None:
        """One entry of this workspace, or None (also for another workspace's entry)."""
        if not _valid_ids(workspace_id, entry_id):
            return None
        with self._connection() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM entries WHERE workspace_id = ? AND id = ?",
                             (workspace_id, entry_id)).fetchone()
        return _entry(row) if row else None

    def image_png(self, workspace_id: str, entry_id: str) -> bytes | None:
        """The stored PNG with its settings in text chunks, or None when there is no such image."""
        if not _valid_ids(workspace_id, entry_id):
            return None
        with self._connection() as db:
            row = db.execute("SELECT has_image FROM entries WHERE workspace_id = ? AND id = ?",
                             (workspace_id, entry_id)).fetchone()
        if not row or not row[0]:
            return None
        try:
            return self._image_path(workspace_id, entry_id).read_bytes()
        except FileNotFoundError:  # deleted from another tab a moment ago
            return None

    # -- export --------------------------------------------------------------------------------------

    def export_zip(self, workspace_id: str) -> bytes:
        """A zip of every image of the workspace plus history.json (settings, newest first)."""
        buffer = io.BytesIO()
        self.write_zip(workspace_id, buffer)
        return buffer.getvalue()

    def write_zip(self, workspace_id: str, out: BinaryIO) -> int:
        """Write the export zip to a binary file object, one image in memory at a time; returns images."""
        digits = max(3, len(str(self.count(workspace_id))))
        images = 0
        # history.json goes last (it names the files actually written) and is spooled to disk as it grows,
        # so a long history costs no more memory than a short one.
        with zipfile.ZipFile(out, "w") as archive, \
                tempfile.SpooledTemporaryFile(max_size=1_000_000, mode="w+b") as history:
            history.write(b"[")
            for entry in self._iter_entries(workspace_id):
                name = None
                if entry.has_image:
                    try:
                        data = self._image_path(workspace_id, entry.id).read_bytes()
                    except FileNotFoundError:  # deleted while exporting: leave it out
                        continue
                    images += 1
                    name = f"{images:0{digits}d}-{entry.kind}-{_slug(entry.prompt)}.png"
                    info = zipfile.ZipInfo(name, date_time=_zip_time(entry.created_at))
                    info.compress_type = zipfile.ZIP_STORED  # PNGs are already compressed
                    archive.writestr(info, data)
                item = json.dumps({**entry.settings(), "file": name}, ensure_ascii=False, indent=2)
                separator = "," if history.tell() > 1 else ""
                history.write(f"{separator}\n{textwrap.indent(item, '  ')}".encode())
            history.write(b"\n]\n")
            history.seek(0)
            info = zipfile.ZipInfo(SETTINGS_FILE, date_time=_zip_time(time.time()))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as member:
                shutil.copyfileobj(history, member)
        return images

    # -- lifecycle -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the idle database connections; the store is unusable afterwards."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()

    def __enter__(self) -> HistoryStore:
        """The store itself, closed when the block ends."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the store."""
        self.close()

    # -- internals -----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection used by one thread at a time, borrowed from a small pool of idle ones.

        Streamlit runs every rerun on a new thread, so per-thread connections would pile up; a pool of
        connections handed to one borrower at a time is safe with check_same_thread off.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the history store is closed")
            db = self._idle.pop() if self._idle else None
        if db is None:
            db = self._connect()
        try:
            yield db
        except BaseException:
            if db.in_transaction:
                db.rollback()
            raise
        finally:
            with self._lock:
                keep = not self._closed and len(self._idle) < _MAX_IDLE_CONNECTIONS and not db.in_transaction
                if keep:
                    self._idle.append(db)
            if not keep:
                db.close()

    def _connect(self) -> sqlite3.Connection:
        """A new autocommit connection: each statement is its own transaction; writers wait, not fail."""
        db = sqlite3.connect(self._database, timeout=30.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout = 30000")
        # In WAL mode NORMAL never corrupts; a power cut may drop the last commits (their files stay).
        db.execute("PRAGMA synchronous = NORMAL")
        return db

    def _image_path(self, workspace_id: str, entry_id: str) -> Path:
        """Where an entry's PNG lives; both ids were checked against strict patterns first."""
        _check_workspace_id(workspace_id)
        if not _ENTRY_ID.fullmatch(entry_id):
            raise ValueError("invalid entry id")
        return self._images / workspace_id / f"{entry_id}.png"

    def _iter_entries(self, workspace_id: str) -> Iterator[HistoryEntry]:
        """Every entry of a workspace, newest first, in batches, without holding a read open between them."""
        if not is_valid_workspace_id(workspace_id):
            return
        columns = _COLUMNS.replace("thumbnail", "NULL")  # the export never needs thumbnails
        last: tuple[float, int] | None = None
        while True:
            with self._connection() as db:
                if last is None:
                    rows = db.execute(f"SELECT {columns}, seq FROM entries WHERE workspace_id = ? "
                                      f"{_NEWEST_FIRST} LIMIT ?", (workspace_id, _EXPORT_BATCH)).fetchall()
                else:
                    rows = db.execute(
                        f"SELECT {columns}, seq FROM entries WHERE workspace_id = ? "
                        f"AND (created_at, seq) < (?, ?) {_NEWEST_FIRST} LIMIT ?",
                        (workspace_id, *last, _EXPORT_BATCH),
                    ).fetchall()
            for row in rows:
                yield _entry(row[:-1])
            if len(rows) < _EXPORT_BATCH:
                return
            last = (rows[-1][6], rows[-1][-1])


def _check_workspace_id(workspace_id: str) -> None:
    """Refuse anything that is not shaped like a workspace id before it reaches a query or a path."""
    if not is_valid_workspace_id(workspace_id):
        raise ValueError("invalid workspace id")


def _valid_ids(workspace_id: object, entry_id: object) -> bool:
    """True when both ids have their expected shapes."""
    return (is_valid_workspace_id(workspace_id) and isinstance(entry_id, str)
            and _ENTRY_ID.fullmatch(entry_id) is not None)


def _filter(workspace_id: str, kind: str | None) -> tuple[str | None, tuple[Any, ...]]:
    """WHERE clause and parameters for a workspace (and kind); None when it cannot match anything."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not is_valid_workspace_id(workspace_id):
        return None, ()
    if kind is None:
        return "workspace_id = ?", (workspace_id,)
    return "workspace_id = ? AND kind = ?", (workspace_id, kind)


def _prepare_image(data: bytes) -> tuple[bytes, int, int, bytes]:
    """(PNG, width, height, thumbnail) from one full decode; a PNG is kept byte for byte, others converted."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # a truncated or corrupt file fails here, before anything is written
            thumb = thumbnails.thumbnail_of(image)
            if image.format == "PNG":
                return bytes(data), image.width, image.height, thumb
            converted = thumbnails.to_rgb_or_rgba(image)
            out = io.BytesIO()
            converted.save(out, "PNG")
            return out.getvalue(), converted.width, converted.height, thumb
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"the image could not be read: {exc}") from exc


def _write_atomically(path: Path, data: bytes) -> None:
    """Write a file so that readers see either nothing or all of it (temp file, fsync, rename)."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _row_values(entry: HistoryEntry) -> tuple[Any, ...]:
    """Column values of an entry, in _COLUMNS order."""
    return (entry.id, entry.workspace_id, entry.kind, entry.prompt, entry.model, entry.aspect_ratio,
            entry.created_at, entry.credits_used, entry.width, entry.height, entry.text, entry.thumbnail,
            int(entry.has_image))


def _entry(row: tuple[Any, ...]) -> HistoryEntry:
    """HistoryEntry from a row in _COLUMNS order."""
    return HistoryEntry(
        id=row[0], workspace_id=row[1], kind=row[2], prompt=row[3], model=row[4], aspect_ratio=row[5],
        created_at=row[6], credits_used=row[7], width=row[8], height=row[9], text=row[10],
        thumbnail=row[11], has_image=bool(row[12]),
    )


def _slug(prompt: str, max_chars: int = 40) -> str:
    """Short ASCII file-name part from a prompt ("image" when nothing ASCII is left, e.g. emoji only)."""
    ascii_text = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:max_chars].rstrip("-")
    return slug or "image"


def _zip_time(epoch: float) -> tuple[int, int, int, int, int, int]:
    """Local date and time for a zip member (zip cannot store dates before 1980)."""
    return tuple(time.localtime(max(epoch, 315_532_800.0 + 86_400))[:6])  # type: ignore[return-value]
