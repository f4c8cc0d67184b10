"""History shared by app replicas: rows in PostgreSQL, images and input images as objects.

The same behaviour as lib.store.HistoryStore (one API, the same entries, PNGs and exports), for several
app processes on several machines. Object layout, per workspace under one prefix:
    images/<workspace>/<entry>.png               the full image, settings embedded in its text chunks
    images/<workspace>/inputs/<sha256>.<ext>     an edit's input image, kept once per workspace
Thumbnails stay in the rows, so a History page is one query and no object reads.

Replicas coordinate through PostgreSQL alone: a session advisory lock per workspace is held while that
workspace's objects and rows change together (save, delete, adoption, sweep). So an input image is never
removed while another replica's save is relying on it, and a sweep never mistakes a save in progress
for a leftover, with no clocks compared between machines.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from lib.errors import ImageStudioError

# The history modules are the one home of validation, image preparation, naming and export format:
# reused here (some names are private to them; they are their rules, not copies of them).
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
from lib.object_storage import ObjectStorage
from lib.shared_store.schema import migrate, refuse_newer

logger = logging.getLogger(__name__)

IMAGES_PREFIX = "images"
_PNG = "image/png"
_INPUT_COUNT = ("(SELECT COUNT(*) FROM history_inputs "
                "WHERE history_inputs.entry_id = history_entries.id) AS input_count")
_SELECT = ", ".join((*_ENTRY_COLUMNS, _INPUT_COUNT))
_SELECT_WITHOUT_THUMBNAIL = ", ".join(
    (*("NULL AS thumbnail" if name == "thumbnail" else name for name in _ENTRY_COLUMNS), _INPUT_COUNT))
_INSERT = (f"INSERT INTO history_entries ({', '.join((*_ENTRY_COLUMNS, 'search_words'))}) "
           f"VALUES ({', '.join(f'%({name})s' for name in (*_ENTRY_COLUMNS, 'search_words'))})")
_NEWEST_FIRST = "ORDER BY created_at DESC, seq DESC"
# Advisory lock keys of workspaces: a 64-bit hash of this prefix and the id (a collision only serialises).
_WORKSPACE_LOCK = "SELECT pg_advisory_lock(hashtextextended(%s, 0))"
_WORKSPACE_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended(%s, 0))"
_LOCK_PREFIX = "image-studio:history:"
# How often a running replica looks whether a newer release has migrated the schema under it: one tiny
# query per this many seconds, however many page runs ask.
SCHEMA_RECHECK_S = 10.0


class HistoryDatabaseError(ImageStudioError):
    """The history database could not be reached at start; the message names it (never its password)."""


class PostgresHistoryStore(HistoryStoreBase):
    """Thread-safe history of every workspace in PostgreSQL and object storage; share one per process."""

    _SAVE_ERRORS = (OSError, psycopg.Error)
    _HISTORY_NAME = "the shared history"

    def __init__(self, database_url: str, objects: ObjectStorage, *, max_connections: int = 10,
                 connect_timeout: float = 10.0, sweep_at_start: bool = True) -> None:
        self.objects = objects
        self._lock = threading.Lock()
        self._closed = False
        self._schema_checked_at = time.monotonic()  # migrate() below checks it at start
        self._pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] = ConnectionPool(
            database_url, min_size=1, max_size=max_connections, timeout=connect_timeout, open=False,
            kwargs={"autocommit": True, "row_factory": dict_row, "connect_timeout": int(connect_timeout)},
            name="image-studio-history",
        )
        # A store nobody holds any more (Streamlit's cache let go of it and the last job using it ended)
        # closes its pool then, rather than leaving its connections to the garbage collector.
        weakref.finalize(self, self._pool.close)
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
            with self._connection() as db:
                migrate(db)
        except (PoolTimeout, psycopg.OperationalError) as exc:
            self._pool.close()
            raise HistoryDatabaseError(
                f"Could not connect to the history database at {_display_database(database_url)}: "
                "check IMAGE_STUDIO_DATABASE_URL and that PostgreSQL is running and reachable.") from exc
        except BaseException:
            self._pool.close()
            raise
        if sweep_at_start:
            self.sweep_leftovers()

    # -- writing -------------------------------------------------------------------------------------

    def delete(self, workspace_id: str, entry_id: str) -> bool:
        """Remove an entry, its image and any input image no other entry uses; False when there is none."""
        if not _valid_ids(workspace_id, entry_id):
            return False
        with self._connection() as db, _workspace_locked(db, workspace_id):
            with db.transaction():
                files = [row["file"] for row in db.execute(
                    "SELECT file FROM history_inputs WHERE entry_id = %s AND workspace_id = %s",
                    (entry_id, workspace_id))]
                row = db.execute("DELETE FROM history_entries WHERE workspace_id = %s AND id = %s "
                                 "RETURNING has_image", (workspace_id, entry_id)).fetchone()
                unused = [name for name in files if not _input_in_use(db, workspace_id, name)]
            if row is None:
                return False
            # Rows first, then objects: a crash in between leaves unlisted objects (swept), not broken rows.
            for name in unused:
                self.objects.delete(_input_key(workspace_id, name))
            if row["has_image"]:
                self.objects.delete(_image_key(workspace_id, entry_id))
        return True

    def adopt_workspace(self, old_id: str, new_id: str) -> int:
        """Move every entry of old_id (rows, thumbnails, images, inputs) to new_id; returns how many moved.

        Both workspaces stay locked throughout, so of several callers (on any replica) adopting the same
        old id, the first gets every entry and the others 0. Objects are copied under the new id before the
        rows move in one transaction, and removed from the old id after: a crash leaves each listed entry
        with its objects, and the sweep removes whichever copy no row lists.
        """
        _check_workspace_id(old_id)
        _check_workspace_id(new_id)
        if old_id == new_id:
            raise ValueError("a workspace can't be moved onto itself")
        with self._connection() as db, _workspace_locked(db, *sorted((old_id, new_id))):
            rows = db.execute("SELECT id, has_image FROM history_entries WHERE workspace_id = %s",
                              (old_id,)).fetchall()
            if not rows:
                return 0
            files = [row["file"] for row in db.execute(
                "SELECT DISTINCT file FROM history_inputs WHERE workspace_id = %s", (old_id,))]
            moves = [*((_image_key(old_id, row["id"]), _image_key(new_id, row["id"]))
                       for row in rows if row["has_image"]),
                     *((_input_key(old_id, name), _input_key(new_id, name)) for name in files)]
            copied: list[str] = []
            try:
                for source, target in moves:
                    data = self.objects.get(source)
                    if data is not None:  # lost before: the entry moves without it, as it was
                        self.objects.put(target, data, _content_type(target))
                        copied.append(target)
                with db.transaction():
                    moved = db.execute("UPDATE history_entries SET workspace_id = %s WHERE workspace_id = %s",
                                       (new_id, old_id)).rowcount
                    db.execute("UPDATE history_inputs SET workspace_id = %s WHERE workspace_id = %s",
                               (new_id, old_id))
            except BaseException:
                for key in copied:  # no row lists them under the new id: nothing else can be using them
                    with contextlib.suppress(OSError):
                        self.objects.delete(key)
                raise
            for source, _target in moves:
                self.objects.delete(source)
        if moved:
            logger.info("Moved %d history entries to a new workspace id", moved)
        return moved

    # -- reading -------------------------------------------------------------------------------------

    def list(self, workspace_id: str, *, kind: str | None = None, limit: int = 24, offset: int = 0,
             search: str | None = None) -> builtins.list[HistoryEntry]:
        """One page of a workspace's entries, newest first (thumbnails included, full images not).

        search keeps the entries whose prompt or file name contains every word of it (any case, accents
        ignored); None, "" or only spaces keeps all.
        """
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        where, params = _filter(workspace_id, kind, search)
        if where is None or limit == 0:
            return []
        with self._connection() as db:
            rows = db.execute(f"SELECT {_SELECT} FROM history_entries WHERE {where} {_NEWEST_FIRST} "
                              "LIMIT %s OFFSET %s", (*params, limit, offset)).fetchall()
        return [_entry(row) for row in rows]

    def count(self, workspace_id: str, *, kind: str | None = None, search: str | None = None) -> int:
        """Number of entries in a workspace (optionally of one kind, matching a search as list() does)."""
        where, params = _filter(workspace_id, kind, search)
        if where is None:
            return 0
        with self._connection() as db:
            row = db.execute(f"SELECT COUNT(*) AS n FROM history_entries WHERE {where}", params).fetchone()
        return int(row["n"]) if row else 0

    def get(self, workspace_id: str, entry_id: str) -> HistoryEntry | None:
        """One entry of this workspace, or None (also for another workspace's entry)."""
        if not _valid_ids(workspace_id, entry_id):
            return None
        with self._connection() as db:
            row = db.execute(f"SELECT {_SELECT} FROM history_entries WHERE workspace_id = %s AND id = %s",
                             (workspace_id, entry_id)).fetchone()
        return _entry(row) if row else None

    # -- upkeep --------------------------------------------------------------------------------------

    def sweep_leftovers(self, min_age_seconds: float = LEFTOVER_MIN_AGE_SECONDS) -> int:
        """Remove objects a crash left behind (images and inputs no row lists); returns how many.

        Each workspace is swept under its lock, which every save holds from its first object to its
        commit: an object found unlisted then is a leftover, whatever its age. min_age_seconds is kept
        for the API HistoryStore shares; object stores do not give an age every replica agrees on.
        """
        del min_age_seconds
        removed = 0
        try:
            by_workspace = _objects_by_workspace(self.objects.keys(f"{IMAGES_PREFIX}/"))
        except OSError as exc:
            logger.warning("Could not look for leftover objects: %s", exc)
            return 0
        for workspace_id, keys in by_workspace.items():
            try:
                removed += self._sweep_workspace(workspace_id, keys)
            except (OSError, psycopg.Error) as exc:  # a sweep that fails must not stop the app
                logger.warning("Could not sweep leftover objects of one workspace: %s", type(exc).__name__)
        if removed:
            logger.info("Removed %d leftover object(s) from the shared history", removed)
        return removed

    # -- lifecycle -----------------------------------------------------------------------------------

    def refuse_newer_schema(self, *, recheck_after_s: float | None = None) -> None:
        """SchemaTooNewError when a newer release has since migrated the schema (looked at every few s)."""
        wait = SCHEMA_RECHECK_S if recheck_after_s is None else recheck_after_s
        now = time.monotonic()
        with self._lock:
            if now - self._schema_checked_at < wait:
                return
            self._schema_checked_at = now
        with self._connection() as db:
            refuse_newer(db)

    def close(self) -> None:
        """Close the database connections; the store is unusable afterwards."""
        with self._lock:
            self._closed = True
        self._pool.close()

    # -- internals -----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """An autocommit connection from the pool (rows as dicts); RuntimeError once the store is closed."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the history store is closed")
        with self._pool.connection() as db:
            yield db

    def _save(self, entry: HistoryEntry, stored_png: bytes | None, inputs: Sequence[_InputFile]) -> None:
        """Write the entry's objects, then its rows in one transaction; on failure nothing of it remains."""
        workspace_id = entry.workspace_id
        created: builtins.list[str] = []
        with self._connection() as db, _workspace_locked(db, workspace_id):
            try:
                if stored_png is not None:
                    # The object is whole before its row exists: a crash leaves an unlisted object (swept),
                    # never a listed entry without its image.
                    created.append(_image_key(workspace_id, entry.id))
                    self.objects.put(created[-1], stored_png, _PNG)
                for item in {item.name: item for item in inputs}.values():
                    if not _input_in_use(db, workspace_id, item.name):  # the same image again: kept once
                        created.append(_input_key(workspace_id, item.name))
                        self.objects.put(created[-1], item.data, _content_type(item.name))
                with db.transaction():
                    db.execute(_INSERT, _row_values(entry))
                    with db.cursor() as cursor:
                        cursor.executemany(
                            "INSERT INTO history_inputs (entry_id, position, workspace_id, file) "
                            "VALUES (%s, %s, %s, %s)",
                            [(entry.id, position, workspace_id, item.name)
                             for position, item in enumerate(inputs)])
            except BaseException:
                for key in created:  # no row refers to them, and the lock kept others away meanwhile
                    with contextlib.suppress(OSError):
                        self.objects.delete(key)
                raise

    def _sweep_workspace(self, workspace_id: str, keys: builtins.list[str]) -> int:
        """Sweep one workspace's objects, under its lock: images and inputs that no row lists go."""
        removed = 0
        with self._connection() as db, _workspace_locked(db, workspace_id):
            entry_ids = {row["id"] for row in db.execute(
                "SELECT id FROM history_entries WHERE workspace_id = %s AND has_image", (workspace_id,))}
            input_files = {row["file"] for row in db.execute(
                "SELECT DISTINCT file FROM history_inputs WHERE workspace_id = %s", (workspace_id,))}
            for key in keys:
                name = key.rsplit("/", 1)[1]
                if key == _input_key_or_none(workspace_id, name):
                    listed = name in input_files
                elif _ENTRY_ID.fullmatch(name.removesuffix(".png")) and name.endswith(".png"):
                    listed = name.removesuffix(".png") in entry_ids
                else:
                    continue  # not an object the store writes: not ours to remove
                if not listed:
                    self.objects.delete(key)
                    removed += 1
        return removed

    def _has_image(self, workspace_id: str, entry_id: str) -> bool:
        """True when this workspace has this entry and its row says it has an image."""
        with self._connection() as db:
            row = db.execute("SELECT has_image FROM history_entries WHERE workspace_id = %s AND id = %s",
                             (workspace_id, entry_id)).fetchone()
        return bool(row and row["has_image"])

    def _read_image(self, workspace_id: str, entry_id: str) -> bytes | None:
        """An entry's PNG object, or None when it is not there (deleted meanwhile)."""
        return self.objects.get(_image_key(workspace_id, entry_id))

    def _read_input(self, workspace_id: str, file: str) -> bytes | None:
        """A kept input image's object, or None when it is not there (deleted meanwhile)."""
        return self.objects.get(_input_key(workspace_id, file))

    def _input_names(self, entry_id: str, workspace_id: str | None = None) -> builtins.list[str]:
        """The file names of an entry's input images in the order sent (only in workspace_id when given)."""
        with self._connection() as db:
            if workspace_id is None:
                rows = db.execute("SELECT file FROM history_inputs WHERE entry_id = %s ORDER BY position",
                                  (entry_id,))
            else:
                rows = db.execute("SELECT file FROM history_inputs WHERE workspace_id = %s AND entry_id = %s "
                                  "ORDER BY position", (workspace_id, entry_id))
            return [row["file"] for row in rows]

    def _entries_page(self, workspace_id: str, after: tuple[float, int] | None,
                      limit: int) -> builtins.list[tuple[HistoryEntry, int]]:
        """Up to limit (entry without thumbnail, seq) of a workspace, newest first, older than after."""
        with self._connection() as db:
            if after is None:
                rows = db.execute(f"SELECT {_SELECT_WITHOUT_THUMBNAIL}, seq FROM history_entries "
                                  f"WHERE workspace_id = %s {_NEWEST_FIRST} LIMIT %s",
                                  (workspace_id, limit)).fetchall()
            else:
                rows = db.execute(
                    f"SELECT {_SELECT_WITHOUT_THUMBNAIL}, seq FROM history_entries "
                    f"WHERE workspace_id = %s AND (created_at, seq) < (%s, %s) {_NEWEST_FIRST} LIMIT %s",
                    (workspace_id, *after, limit)).fetchall()
        return [(_entry(row), row["seq"]) for row in rows]

    def _failure_cause(self, exc: BaseException) -> str:
        """The failure's type name: never the URL, bucket or key its message may hold."""
        return type(exc).__name__

    def _failure_message(self, kind: str, exc: BaseException) -> str:
        """The plain-words message of a failed save to the shared history."""
        return _save_failure_message(kind, exc)


@contextlib.contextmanager
def _workspace_locked(db: psycopg.Connection[Any], *workspace_ids: str) -> Iterator[None]:
    """Hold the advisory locks of these workspaces (in the order given) on this connection's session."""
    held: builtins.list[str] = []
    try:
        for workspace_id in workspace_ids:
            db.execute(_WORKSPACE_LOCK, (_LOCK_PREFIX + workspace_id,))
            held.append(workspace_id)
        yield
    finally:
        for workspace_id in reversed(held):
            with contextlib.suppress(psycopg.Error):  # a broken connection released them with its session
                db.execute(_WORKSPACE_UNLOCK, (_LOCK_PREFIX + workspace_id,))


def _input_in_use(db: psycopg.Connection[Any], workspace_id: str, file: str) -> bool:
    """True when an entry of the workspace refers to this input file."""
    return db.execute("SELECT 1 FROM history_inputs WHERE workspace_id = %s AND file = %s LIMIT 1",
                      (workspace_id, file)).fetchone() is not None


def _filter(workspace_id: str, kind: str | None,
            search: str | None) -> tuple[str | None, tuple[Any, ...]]:
    """WHERE clause and parameters for a workspace, kind and search; None when nothing can match."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if search is not None and not isinstance(search, str):
        raise ValueError("search must be text")
    if not is_valid_workspace_id(workspace_id):
        return None, ()
    clauses, params = ["workspace_id = %s"], [workspace_id]
    if kind is not None:
        clauses.append("kind = %s")
        params.append(kind)
    for word in _search_terms(search or ""):
        # A substring of the folded words: LIKE's own characters escaped, so %, _ and \ are only characters.
        clauses.append("search_words LIKE %s")
        params.append("%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    return " AND ".join(clauses), tuple(params)


def _row_values(entry: HistoryEntry) -> dict[str, Any]:
    """Column values of an entry, by column name, with the words search looks through."""
    values = {name: getattr(entry, name) for name in _ENTRY_COLUMNS}
    values["search_words"] = _search_words(entry.prompt, entry.source_name)
    return values


def _image_key(workspace_id: str, entry_id: str) -> str:
    """The object key of an entry's PNG; both ids were checked against strict patterns first."""
    _check_workspace_id(workspace_id)
    if not _ENTRY_ID.fullmatch(entry_id):
        raise ValueError("invalid entry id")
    return f"{IMAGES_PREFIX}/{workspace_id}/{entry_id}.png"


def _input_key(workspace_id: str, file: str) -> str:
    """The object key of a kept input image; its name is a SHA-256 and an extension, checked first."""
    _check_workspace_id(workspace_id)
    if not _INPUT_FILE.fullmatch(file):
        raise ValueError("invalid input image name")
    return f"{IMAGES_PREFIX}/{workspace_id}/{INPUTS_FOLDER}/{file}"


def _input_key_or_none(workspace_id: str, file: str) -> str | None:
    """_input_key, or None when file is not shaped like a kept input image's name."""
    return _input_key(workspace_id, file) if _INPUT_FILE.fullmatch(file) else None


def _objects_by_workspace(keys: Iterable[str]) -> dict[str, builtins.list[str]]:
    """Object keys under images/ grouped by the workspace id they sit under (other keys ignored)."""
    grouped: dict[str, builtins.list[str]] = {}
    for key in keys:
        parts = key.split("/")
        if len(parts) >= 3 and parts[0] == IMAGES_PREFIX and is_valid_workspace_id(parts[1]):
            grouped.setdefault(parts[1], []).append(key)
    return grouped


def _content_type(name: str) -> str:
    """A MIME type for a stored image, from the extension the store gave it."""
    extension = name.rsplit(".", 1)[-1]
    return {"jpg": "image/jpeg", "tif": "image/tiff", "img": "application/octet-stream"}.get(
        extension, f"image/{extension}")


def _display_database(url: str) -> str:
    """Host, port and database name of a connection URL, for messages: never its user or password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(an unreadable IMAGE_STUDIO_DATABASE_URL)"
    where = f"{parts.get('host') or 'localhost'}:{parts.get('port') or 5432}"
    return f"{where}/{parts['dbname']}" if parts.get("dbname") else where


def _save_failure_message(kind: str, exc: BaseException) -> str:
    """The plain-words message of a failed save: what is not lost, why it failed, and what to do."""
    if isinstance(exc, OSError):
        why = "the object store holding the images could not be written to. Check that it is running"
    else:
        why = "the history database could not be reached or refused the write. Try again in a moment"
    return _unsaved_message(kind, why)
