"""History of what each workspace made: SQLite rows with small thumbnails, full images as PNG files.

Layout under the root folder:
    history.sqlite3                      one row per entry (WAL mode), thumbnails inside the row
    images/<workspace>/<entry>.png       the full image, settings already embedded in its text chunks
    images/<workspace>/inputs/<sha256>.<ext>   an edit's input image, stored once however many entries
                                         use it, deleted with the last entry that refers to it

Saving, reading images and the export zip are HistoryStoreBase's (lib.history_store_base); this module
holds what is particular to SQLite and files: rows, paths, migration, search, adoption and the sweep.
Every query filters on the workspace id, and ids are checked against their strict patterns
(lib.history_entry) before they are used in a path.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lib.history_entry import (
    _ENTRY_COLUMNS,
    _ENTRY_ID,
    _INPUT_FILE,
    KINDS,
    HistoryEntry,
    _check_workspace_id,
    _entry,
    _search_terms,
    _search_words,
    _valid_ids,
    is_valid_workspace_id,
)
from lib.history_store_base import (
    INPUTS_FOLDER,
    LEFTOVER_MIN_AGE_SECONDS,
    HistoryStoreBase,
    _InputFile,
    _unsaved_message,
)
from lib.object_storage import write_atomically

logger = logging.getLogger(__name__)

DATABASE_NAME = "history.sqlite3"

_TEMP_FILE = re.compile(r"\..+\.[0-9a-f]{8}\.tmp")
_MAX_IDLE_CONNECTIONS = 8
_SCHEMA_VERSION = 3

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
    has_image    INTEGER NOT NULL,
    source_name  TEXT
);
CREATE INDEX IF NOT EXISTS entries_by_workspace
    ON entries (workspace_id, created_at DESC, seq DESC);
CREATE INDEX IF NOT EXISTS entries_by_workspace_kind
    ON entries (workspace_id, kind, created_at DESC, seq DESC);
CREATE TABLE IF NOT EXISTS entry_inputs (
    entry_id     TEXT NOT NULL,
    position     INTEGER NOT NULL,
    workspace_id TEXT NOT NULL,
    file         TEXT NOT NULL,
    PRIMARY KEY (entry_id, position)
);
CREATE INDEX IF NOT EXISTS entry_inputs_by_file ON entry_inputs (workspace_id, file);
"""
# Search: each entry's prompt and file name, folded (_folded), in entry_words (rowid = entries.seq), and a
# trigram FTS5 index over them, so any word of three characters or more is found as a substring through the
# index. Rows are added by the code that adds entries (folding is Python's); triggers do the rest.
_SEARCH_SCHEMA: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS entry_words (seq INTEGER PRIMARY KEY, words TEXT NOT NULL)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS entry_words_index USING fts5(words, content = 'entry_words', "
    "content_rowid = 'seq', tokenize = 'trigram')",
    "CREATE TRIGGER IF NOT EXISTS entry_words_added AFTER INSERT ON entry_words "
    "BEGIN INSERT INTO entry_words_index (rowid, words) VALUES (new.seq, new.words); END",
    "CREATE TRIGGER IF NOT EXISTS entry_words_removed AFTER DELETE ON entry_words BEGIN INSERT INTO "
    "entry_words_index (entry_words_index, rowid, words) VALUES ('delete', old.seq, old.words); END",
    "CREATE TRIGGER IF NOT EXISTS entry_words_forget AFTER DELETE ON entries "
    "BEGIN DELETE FROM entry_words WHERE seq = old.seq; END",
)
_SEARCH_INSERT = "INSERT INTO entry_words (seq, words) VALUES (?, ?)"
# The trigram index finds substrings of at least this many characters; shorter words are checked per row.
_TRIGRAM = 3
# Columns added after the first release, with their definitions: added in place to older databases.
_ADDED_COLUMNS: dict[str, str] = {"source_name": "TEXT"}
# Derived when read, never stored: how many input images the entry keeps.
_INPUT_COUNT = "(SELECT COUNT(*) FROM entry_inputs WHERE entry_inputs.entry_id = entries.id) AS input_count"
_SELECT = ", ".join((*_ENTRY_COLUMNS, _INPUT_COUNT))
# The export never needs thumbnails: the same columns by name, with the blob left behind.
_SELECT_WITHOUT_THUMBNAIL = ", ".join(
    (*("NULL AS thumbnail" if name == "thumbnail" else name for name in _ENTRY_COLUMNS), _INPUT_COUNT)
)
_INSERT = (f"INSERT INTO entries ({', '.join(_ENTRY_COLUMNS)}) "
           f"VALUES ({', '.join(':' + name for name in _ENTRY_COLUMNS)})")
# seq breaks ties between entries saved in the same clock tick, so "newest first" is always well defined.
_NEWEST_FIRST = "ORDER BY created_at DESC, seq DESC"


class HistoryStore(HistoryStoreBase):
    """Thread-safe history of every workspace, in one folder; share one instance between all users."""

    _SAVE_ERRORS = (OSError, sqlite3.Error)

    def __init__(self, root: Path | str, *, busy_timeout: float = 30.0) -> None:
        self.root = Path(root).resolve()
        self._images = self.root / "images"
        self._images.mkdir(parents=True, exist_ok=True)
        self._database = self.root / DATABASE_NAME
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        # Held while input files are written or released, so a file is never removed between another
        # save finding it on disk and that save's row referring to it.
        self._inputs_lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._closed = False
        with self._connection() as db:
            db.execute("PRAGMA journal_mode = WAL")
            _migrate(db)
        self.sweep_leftovers()

    # -- writing -------------------------------------------------------------------------------------

    def delete(self, workspace_id: str, entry_id: str) -> bool:
        """Remove an entry, its image and any input image no other entry uses; False when there is none."""
        if not _valid_ids(workspace_id, entry_id):
            return False
        with self._inputs_lock:
            with self._connection() as db, _transaction(db):
                files = [row["file"] for row in db.execute(
                    "SELECT file FROM entry_inputs WHERE entry_id = ? AND workspace_id = ?",
                    (entry_id, workspace_id))]
                deleted = db.execute("DELETE FROM entries WHERE workspace_id = ? AND id = ?",
                                     (workspace_id, entry_id)).rowcount == 1
                if deleted:
                    db.execute("DELETE FROM entry_inputs WHERE entry_id = ?", (entry_id,))
                    unused = [name for name in files if not _input_in_use(db, workspace_id, name)]
            if deleted:
                # Rows first, then files: a crash in between leaves unlisted files (swept), not broken rows.
                for name in unused:
                    self._input_path(workspace_id, name).unlink(missing_ok=True)
        if deleted:
            self._image_path(workspace_id, entry_id).unlink(missing_ok=True)
        return deleted

    def adopt_workspace(self, old_id: str, new_id: str) -> int:
        """Move every entry of old_id (rows, thumbnails, images, inputs) to new_id; returns how many moved.

        The rows move in one transaction, which is the claim: of several callers adopting the same old id,
        the first to commit gets every entry and the others get 0. Files are linked under the new id before
        that commit and unlinked from the old id after it, so a crash at any point leaves each listed entry
        with its files; the sweep removes whichever copy no row lists. new_id is meant to be a fresh id.
        """
        _check_workspace_id(old_id)
        _check_workspace_id(new_id)
        if old_id == new_id:
            raise ValueError("a workspace can't be moved onto itself")
        with self._connection() as db:
            rows = db.execute("SELECT id, has_image FROM entries WHERE workspace_id = ?",
                              (old_id,)).fetchall()
            files = [row["file"] for row in db.execute(
                "SELECT DISTINCT file FROM entry_inputs WHERE workspace_id = ?", (old_id,))]
        if not rows:
            return 0
        entry_ids = [row["id"] for row in rows]
        image_ids = [row["id"] for row in rows if row["has_image"]]
        with self._inputs_lock:
            sources = [*((self._image_path(old_id, entry_id), self._image_path(new_id, entry_id))
                         for entry_id in image_ids),
                       *((self._input_path(old_id, name), self._input_path(new_id, name)) for name in files)]
            created: list[Path] = []
            try:
                for source, target in sources:
                    if _link_file(source, target):
                        created.append(target)
                with self._connection() as db, _transaction(db):
                    moved = [entry_id for entry_id in entry_ids if db.execute(
                        "UPDATE entries SET workspace_id = ? WHERE workspace_id = ? AND id = ?",
                        (new_id, old_id, entry_id)).rowcount == 1]
                    db.executemany(
                        "UPDATE entry_inputs SET workspace_id = ? WHERE workspace_id = ? AND entry_id = ?",
                        [(new_id, old_id, entry_id) for entry_id in moved])
                    left_behind = {row["id"] for row in db.execute(
                        "SELECT id FROM entries WHERE workspace_id = ?", (old_id,))}
                    inputs_left = {name for name in files if _input_in_use(db, old_id, name)}
                    inputs_moved = {name for name in files if _input_in_use(db, new_id, name)}
            except BaseException:
                for path in created:  # no row lists them under the new id: nothing else can be using them
                    path.unlink(missing_ok=True)
                raise
            listed = {*(self._image_path(new_id, entry_id) for entry_id in moved),
                      *(self._input_path(new_id, name) for name in inputs_moved)}
            # Rows first, then files: a crash in between leaves unlisted files (swept), never a lost image.
            # Copies no moved row lists (another caller claimed the rows first) go, and so do the old files.
            unlisted = [path for path in created if path not in listed]
            unlisted += [self._image_path(old_id, entry_id) for entry_id in image_ids
                         if entry_id not in left_behind]
            unlisted += [self._input_path(old_id, name) for name in files if name not in inputs_left]
            for path in unlisted:
                path.unlink(missing_ok=True)
        # The old folder emptied; the new one too when another caller claimed the rows (it is not in use).
        for workspace in (old_id,) if moved else (old_id, new_id):
            for folder in (self._images / workspace / INPUTS_FOLDER, self._images / workspace):
                with contextlib.suppress(OSError):  # not empty (entries are kept there) or gone already
                    folder.rmdir()
        if moved:
            logger.info("Moved %d history entries to a new workspace id", len(moved))
        return len(moved)

    # -- reading -------------------------------------------------------------------------------------

    def list(self, workspace_id: str, *, kind: str | None = None, limit: int = 24, offset: int = 0,
             search: str | None = None) -> list[HistoryEntry]:
        """One page of a workspace's entries, newest first (thumbnails included, full images not).

        search keeps the entries whose prompt or file name contains every word of it (any case, accents
        ignored); None, "" or only spaces keeps all.
        """
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        where, params = _filter(workspace_id, kind, search)
        if where is None or limit == 0:
            return []
        # Page through the index alone (it covers workspace, kind, time and seq), then read only the
        # rows of that page: deep pages do not drag every skipped thumbnail through memory.
        sql = (f"SELECT {_SELECT} FROM entries WHERE seq IN "
               f"(SELECT seq FROM entries WHERE {where} {_NEWEST_FIRST} LIMIT ? OFFSET ?) {_NEWEST_FIRST}")
        with self._connection() as db:
            rows = db.execute(sql, (*params, limit, offset)).fetchall()
        return [_entry(row) for row in rows]

    def count(self, workspace_id: str, *, kind: str | None = None, search: str | None = None) -> int:
        """Number of entries in a workspace (optionally of one kind, matching a search as list() does)."""
        where, params = _filter(workspace_id, kind, search)
        if where is None:
            return 0
        with self._connection() as db:
            return int(db.execute(f"SELECT COUNT(*) AS n FROM entries WHERE {where}", params).fetchone()["n"])

    def get(self, workspace_id: str, entry_id: str) -> HistoryEntry | None:
        """One entry of this workspace, or None (also for another workspace's entry)."""
        if not _valid_ids(workspace_id, entry_id):
            return None
        with self._connection() as db:
            row = db.execute(f"SELECT {_SELECT} FROM entries WHERE workspace_id = ? AND id = ?",
                             (workspace_id, entry_id)).fetchone()
        return _entry(row) if row else None

    # -- upkeep --------------------------------------------------------------------------------------

    def sweep_leftovers(self, min_age_seconds: float = LEFTOVER_MIN_AGE_SECONDS) -> int:
        """Remove files a crash left behind (temp files, images and inputs no row lists); returns how many.

        Only files older than min_age_seconds go: a younger one may be a save in progress elsewhere.
        """
        cutoff = time.time() - min_age_seconds
        removed = 0
        try:
            workspaces = [path for path in self._images.iterdir()
                          if path.is_dir() and is_valid_workspace_id(path.name)]
        except OSError as exc:
            logger.warning("Could not look for leftover files: %s", exc)
            return 0
        for folder in workspaces:
            try:
                removed += self._sweep_workspace(folder, cutoff)
            except (OSError, sqlite3.Error) as exc:  # a sweep that fails must not stop the app
                logger.warning("Could not sweep leftover files of one workspace: %s", exc)
        if removed:
            logger.info("Removed %d leftover file(s) from the history folder", removed)
        return removed

    # -- lifecycle -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the idle database connections; the store is unusable afterwards."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()

    # -- internals -----------------------------------------------------------------------------------

    def _save(self, entry: HistoryEntry, stored_png: bytes | None, inputs: Sequence[_InputFile]) -> None:
        """Write the entry's files, then its rows in one transaction; on failure nothing of it remains."""
        path = None
        if stored_png is not None:
            # The file is complete on disk before its row exists: a crash can leave an unlisted file
            # (swept at the next start), never a listed entry without its image.
            path = self._image_path(entry.workspace_id, entry.id)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, stored_png)
        try:
            with self._inputs_lock:
                created: list[Path] = []
                try:
                    for item in inputs:
                        input_path = self._input_path(entry.workspace_id, item.name)
                        if not input_path.exists():  # the same image again: it is kept once
                            input_path.parent.mkdir(parents=True, exist_ok=True)
                            write_atomically(input_path, item.data)
                            created.append(input_path)
                    with self._connection() as db, _transaction(db):
                        seq = db.execute(_INSERT, _row_values(entry)).lastrowid
                        db.execute(_SEARCH_INSERT, (seq, _search_words(entry.prompt, entry.source_name)))
                        db.executemany(
                            "INSERT INTO entry_inputs (entry_id, position, workspace_id, file) "
                            "VALUES (?, ?, ?, ?)",
                            [(entry.id, position, entry.workspace_id, item.name)
                             for position, item in enumerate(inputs)],
                        )
                except BaseException:
                    for input_path in created:  # no row refers to them: nothing else can be using them
                        input_path.unlink(missing_ok=True)
                    raise
        except BaseException:
            if path is not None:
                path.unlink(missing_ok=True)
            raise

    def _sweep_workspace(self, folder: Path, cutoff: float) -> int:
        """Sweep one workspace folder: old temp files, and old images and inputs that no row lists."""
        workspace_id = folder.name
        with self._connection() as db:
            entry_ids = {row["id"] for row in db.execute(
                "SELECT id FROM entries WHERE workspace_id = ?", (workspace_id,))}
            input_files = {row["file"] for row in db.execute(
                "SELECT DISTINCT file FROM entry_inputs WHERE workspace_id = ?", (workspace_id,))}
        candidates = [(path, path.stem in entry_ids and path.suffix == ".png") for path in folder.iterdir()]
        inputs_folder = folder / INPUTS_FOLDER
        if inputs_folder.is_dir():
            candidates += [(path, path.name in input_files) for path in inputs_folder.iterdir()]
        removed = 0
        for path, listed in candidates:
            if listed or not path.is_file():
                continue
            ours = (_TEMP_FILE.fullmatch(path.name) or _INPUT_FILE.fullmatch(path.name)
                    or (_ENTRY_ID.fullmatch(path.stem) and path.suffix == ".png"))
            if not ours:
                continue  # not a file the store writes: not ours to remove
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed

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
        db = sqlite3.connect(self._database, timeout=self._busy_timeout, isolation_level=None,
                             check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        # In WAL mode NORMAL never corrupts; a power cut may drop the last commits (their files stay).
        db.execute("PRAGMA synchronous = NORMAL")
        return db

    def _image_path(self, workspace_id: str, entry_id: str) -> Path:
        """Where an entry's PNG lives; both ids were checked against strict patterns first."""
        _check_workspace_id(workspace_id)
        if not _ENTRY_ID.fullmatch(entry_id):
            raise ValueError("invalid entry id")
        return self._images / workspace_id / f"{entry_id}.png"

    def _input_path(self, workspace_id: str, file: str) -> Path:
        """Where a kept input image lives; its name is a SHA-256 and an extension, checked first."""
        _check_workspace_id(workspace_id)
        if not _INPUT_FILE.fullmatch(file):
            raise ValueError("invalid input image name")
        return self._images / workspace_id / INPUTS_FOLDER / file

    def _has_image(self, workspace_id: str, entry_id: str) -> bool:
        """True when this workspace has this entry and its row says it has an image."""
        with self._connection() as db:
            row = db.execute("SELECT has_image FROM entries WHERE workspace_id = ? AND id = ?",
                             (workspace_id, entry_id)).fetchone()
        return bool(row and row["has_image"])

    def _read_image(self, workspace_id: str, entry_id: str) -> bytes | None:
        """An entry's PNG file, or None when it is not there (deleted from another tab meanwhile)."""
        try:
            return self._image_path(workspace_id, entry_id).read_bytes()
        except FileNotFoundError:
            return None

    def _read_input(self, workspace_id: str, file: str) -> bytes | None:
        """A kept input image's file, or None when it is not there (entry deleted meanwhile)."""
        try:
            return self._input_path(workspace_id, file).read_bytes()
        except FileNotFoundError:
            return None

    def _input_names(self, entry_id: str, workspace_id: str | None = None) -> builtins.list[str]:
        """The file names of an entry's input images in the order sent (only in workspace_id when given)."""
        with self._connection() as db:
            if workspace_id is None:
                rows = db.execute("SELECT file FROM entry_inputs WHERE entry_id = ? ORDER BY position",
                                  (entry_id,))
            else:
                rows = db.execute("SELECT file FROM entry_inputs WHERE workspace_id = ? AND entry_id = ? "
                                  "ORDER BY position", (workspace_id, entry_id))
            return [row["file"] for row in rows]

    def _entries_page(self, workspace_id: str, after: tuple[float, int] | None,
                      limit: int) -> builtins.list[tuple[HistoryEntry, int]]:
        """Up to limit (entry without thumbnail, seq) of a workspace, newest first, older than after."""
        with self._connection() as db:
            if after is None:
                rows = db.execute(f"SELECT {_SELECT_WITHOUT_THUMBNAIL}, seq FROM entries "
                                  f"WHERE workspace_id = ? {_NEWEST_FIRST} LIMIT ?",
                                  (workspace_id, limit)).fetchall()
            else:
                rows = db.execute(
                    f"SELECT {_SELECT_WITHOUT_THUMBNAIL}, seq FROM entries WHERE workspace_id = ? "
                    f"AND (created_at, seq) < (?, ?) {_NEWEST_FIRST} LIMIT ?",
                    (workspace_id, *after, limit),
                ).fetchall()
        return [(_entry(row), row["seq"]) for row in rows]

    def _failure_cause(self, exc: BaseException) -> str:
        """The cause in one word: full, read-only, busy, damaged or other."""
        return _failure_kind(exc)

    def _failure_message(self, kind: str, exc: BaseException) -> str:
        """The plain-words message of a failed save to the history folder."""
        return _save_failure_message(kind, exc)


def _migrate(db: sqlite3.Connection) -> None:
    """Create the tables, or bring an older database up to date in place (columns and tables added)."""
    with _transaction(db):  # one writer at a time: two processes opening an old database can't race
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        present = {row["name"] for row in db.execute("PRAGMA table_info(entries)")}
        for name, definition in _ADDED_COLUMNS.items():
            if name not in present:
                db.execute(f"ALTER TABLE entries ADD COLUMN {name} {definition}")
        for statement in _SEARCH_SCHEMA:
            db.execute(statement)
        # Older databases (or one an older release wrote to since, which also sets the version back)
        # get their search index built again from the entries.
        if db.execute("PRAGMA user_version").fetchone()[0] < _SCHEMA_VERSION:
            db.execute("DELETE FROM entry_words")
            rows = db.execute("SELECT seq, prompt, source_name FROM entries")
            db.executemany(_SEARCH_INSERT,
                           ((row["seq"], _search_words(row["prompt"], row["source_name"])) for row in rows))
        db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction on an autocommit connection: committed at the end, rolled back on error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.rollback()
        raise
    db.execute("COMMIT")


def _input_in_use(db: sqlite3.Connection, workspace_id: str, file: str) -> bool:
    """True when another entry of the workspace still refers to this input file."""
    return db.execute("SELECT 1 FROM entry_inputs WHERE workspace_id = ? AND file = ? LIMIT 1",
                      (workspace_id, file)).fetchone() is not None


def _filter(workspace_id: str, kind: str | None,
            search: str | None = None) -> tuple[str | None, tuple[Any, ...]]:
    """WHERE clause and parameters for a workspace (kind, search); None when it cannot match anything."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if search is not None and not isinstance(search, str):
        raise ValueError("search must be text")
    if not is_valid_workspace_id(workspace_id):
        return None, ()
    clauses, params = ["workspace_id = ?"], [workspace_id]
    if kind is not None:
        clauses.append("kind = ?")
        params.append(kind)
    words = _search_terms(search or "")
    long_words = [word for word in words if len(word) >= _TRIGRAM]
    short_words = [word for word in words if len(word) < _TRIGRAM]
    # Words too short for the trigram index are checked on the rows the rest leaves (by primary key).
    short_checks = "".join(" AND instr(words, ?) > 0" for _ in short_words)
    if long_words:
        # Each word a quoted FTS5 string: quotes doubled, so *, -, :, NEAR, AND... are only characters.
        clauses.append(f"seq IN (SELECT rowid FROM entry_words_index WHERE entry_words_index MATCH ?"
                       f"{short_checks})")
        params.append(" AND ".join('"' + word.replace('"', '""') + '"' for word in long_words))
    elif short_words:
        clauses.append(f"EXISTS (SELECT 1 FROM entry_words AS w WHERE w.seq = entries.seq{short_checks})")
    params.extend(short_words)
    return " AND ".join(clauses), tuple(params)


def _link_file(source: Path, target: Path) -> bool:
    """Give source's file a second name at target (a copy where links are refused); False when nothing to do.

    Nothing is done when target exists already (an input image kept once) or source is gone (moved by
    another caller, or lost before). The new name is marked fresh so that a sweep elsewhere leaves it alone
    while the rows that will list it are still on their way.
    """
    if target.exists() or not source.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except (FileNotFoundError, FileExistsError):
        return False
    except OSError:  # a file system without hard links: copy, still atomically
        try:
            data = source.read_bytes()
        except FileNotFoundError:
            return False
        write_atomically(target, data)
        return True
    os.utime(target)
    return True


def _failure_kind(exc: BaseException) -> str:
    """The cause of a disk or database failure in one word: full, read-only, busy, damaged or other."""
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return "full"
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return "read-only"
        return "other"
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return "full"
    if name.startswith(("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_CANTOPEN")) or "readonly" in text:
        return "read-only"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return "busy"
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text or "not a data" in text:
        return "damaged"
    return "other"


_FAILURE_WORDS = {
    "full": "the disk holding the history folder is full. Free some space to keep new results",
    "read-only": "the history folder can't be written to (no permission, or a read-only disk)",
    "busy": "the history database stayed busy too long (another program may be holding it). Try again",
    "damaged": "the history database is damaged. Ask whoever runs this app to restore or replace it",
    "other": "the history folder could not be written to. Check that it is writable and has free space",
}


def _save_failure_message(kind: str, exc: BaseException) -> str:
    """The plain-words message of a failed save to the history folder."""
    return _unsaved_message(kind, _FAILURE_WORDS[_failure_kind(exc)])


def _row_values(entry: HistoryEntry) -> dict[str, Any]:
    """Column values of an entry, by column name."""
    values = {name: getattr(entry, name) for name in _ENTRY_COLUMNS}
    values["has_image"] = int(entry.has_image)
    return values
