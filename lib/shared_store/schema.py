"""The history tables in PostgreSQL: created and migrated at start, one replica at a time, versioned.

Every replica runs `migrate` when it starts. An advisory lock makes the replicas take turns, so the one
that finds an old schema upgrades it while the others wait, then see it done. The version lives in
`schema_version` (one row per component, so other rows-in-PostgreSQL features can keep their own); a
replica that finds a version newer than it knows refuses to serve rather than write rows it misreads,
at start (`migrate`) and while it runs (`refuse_newer`, after another replica of a newer release migrated).
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from lib.errors import ImageStudioError

logger = logging.getLogger(__name__)

COMPONENT = "history"
# A fixed advisory lock key for "migrating the history schema" (the ASCII of "ImgStHis"): replicas of the
# app agree on it, and nothing else in the database uses it.
MIGRATION_LOCK_KEY = 0x496D_6753_7448_6973

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    component TEXT PRIMARY KEY,
    version   INTEGER NOT NULL
)
"""

# Each step takes the schema from the version before it to its own number, in one transaction.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, (
        """
        CREATE TABLE history_entries (
            seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id           TEXT NOT NULL UNIQUE,
            workspace_id TEXT NOT NULL,
            kind         TEXT NOT NULL,
            prompt       TEXT NOT NULL,
            model        TEXT,
            aspect_ratio TEXT,
            created_at   DOUBLE PRECISION NOT NULL,
            credits_used INTEGER,
            width        INTEGER,
            height       INTEGER,
            text         TEXT,
            thumbnail    BYTEA,
            has_image    BOOLEAN NOT NULL,
            source_name  TEXT,
            search_words TEXT NOT NULL
        )
        """,
        "CREATE INDEX history_entries_by_workspace "
        "ON history_entries (workspace_id, created_at DESC, seq DESC)",
        "CREATE INDEX history_entries_by_workspace_kind "
        "ON history_entries (workspace_id, kind, created_at DESC, seq DESC)",
        """
        CREATE TABLE history_inputs (
            entry_id     TEXT NOT NULL REFERENCES history_entries (id) ON DELETE CASCADE,
            position     INTEGER NOT NULL,
            workspace_id TEXT NOT NULL,
            file         TEXT NOT NULL,
            PRIMARY KEY (entry_id, position)
        )
        """,
        "CREATE INDEX history_inputs_by_file ON history_inputs (workspace_id, file)",
    )),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]

# Substring search through a trigram index; optional: without pg_trgm a search reads one workspace's rows.
_TRIGRAM_INDEX = ("CREATE INDEX IF NOT EXISTS history_entries_search "
                  "ON history_entries USING GIN (search_words gin_trgm_ops)")


class SchemaTooNewError(ImageStudioError):
    """The database was migrated by a newer release of the app: this one must not serve with it."""


def refuse_newer(db: psycopg.Connection[Any]) -> None:
    """Raise SchemaTooNewError when a newer release has migrated the history schema since this one started."""
    found = current_version(db)
    if found > SCHEMA_VERSION:
        raise SchemaTooNewError(_too_new(found))


def migrate(db: psycopg.Connection[Any]) -> int:
    """Bring the history schema up to SCHEMA_VERSION (waiting for any other replica doing so); returns it.

    db must be an autocommit connection. SchemaTooNewError when the database is newer than this release.
    """
    db.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
    try:
        db.execute(_VERSION_TABLE)
        found = current_version(db)
        if found > SCHEMA_VERSION:
            raise SchemaTooNewError(_too_new(found))
        apply_migrations(db, COMPONENT, MIGRATIONS, found)
        _add_trigram_index(db)
    finally:
        db.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return SCHEMA_VERSION


def apply_migrations(db: psycopg.Connection[Any], component: str,
                     migrations: tuple[tuple[int, tuple[str, ...]], ...], found: int) -> None:
    """Run each of a component's migrations newer than found, each with its version in one transaction."""
    for version, statements in migrations:
        if version <= found:
            continue
        with db.transaction():
            for statement in statements:
                db.execute(statement)
            db.execute("INSERT INTO schema_version (component, version) VALUES (%s, %s) "
                       "ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version",
                       (component, version))
        logger.info("%s schema migrated to version %d", component.capitalize(), version)


def current_version(db: psycopg.Connection[Any]) -> int:
    """The history schema version recorded in the database (0 when none is)."""
    with db.cursor(row_factory=tuple_row) as cursor:
        row = cursor.execute("SELECT version FROM schema_version WHERE component = %s",
                             (COMPONENT,)).fetchone()
    return int(row[0]) if row else 0


def _too_new(found: int) -> str:
    return (f"The history database has schema version {found}, but this release of Image Studio knows "
            f"versions up to {SCHEMA_VERSION}. A newer release has upgraded it: run that release on every "
            "replica (this one will not serve, so as not to damage the history).")


def _add_trigram_index(db: psycopg.Connection[Any]) -> None:
    """Index the search words by trigrams when pg_trgm can be had; search still works without it."""
    try:
        with db.transaction():
            db.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            db.execute(_TRIGRAM_INDEX)
    except psycopg.Error as exc:  # not installed, or this role may not create extensions
        logger.warning("History search runs without its trigram index (pg_trgm unavailable: %s)",
                       type(exc).__name__)
