"""Generate job rows in PostgreSQL, for replicas that share one history: the rules of lib.jobs.JobStore.

The table is versioned like the history's: its own row ("jobs") in schema_version, created or migrated
under the same advisory lock, so replicas starting together take turns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import ConnectionPool, PoolTimeout

from lib.jobs import CREATE_INDEXES, CREATE_TABLE, JobStore, pyformat
from lib.shared_store.postgres_history import HistoryDatabaseError
from lib.shared_store.schema import _VERSION_TABLE, MIGRATION_LOCK_KEY, SchemaTooNewError, apply_migrations

COMPONENT = "jobs"
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, (CREATE_TABLE, *CREATE_INDEXES)),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


class PostgresJobStore(JobStore):
    """Job rows of every workspace in PostgreSQL; thread-safe, share one per process."""

    def __init__(self, database_url: str, *, max_connections: int = 4, connect_timeout: float = 10.0) -> None:
        self._pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] = ConnectionPool(
            database_url, min_size=1, max_size=max_connections, timeout=connect_timeout, open=False,
            kwargs={"autocommit": True, "row_factory": dict_row, "connect_timeout": int(connect_timeout)},
            name="image-studio-jobs",
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
            with self._pool.connection() as db:
                migrate_jobs(db)
        except (PoolTimeout, psycopg.OperationalError) as exc:
            self._pool.close()
            # Never the URL: it may hold a password.
            raise HistoryDatabaseError("Could not connect to the database for Generate jobs: check "
                                       "IMAGE_STUDIO_DATABASE_URL and that PostgreSQL is reachable.") from exc
        except BaseException:
            self._pool.close()
            raise

    def _query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._pool.connection() as db, db.cursor() as cursor:
            cursor.execute(pyformat(sql), dict(params or {}))
            return list(cursor.fetchall()) if cursor.description else []

    def _write_many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        with self._pool.connection() as db, db.transaction(), db.cursor() as cursor:
            cursor.executemany(pyformat(sql), [dict(row) for row in rows])

    def close(self) -> None:
        """Close the database connections."""
        self._pool.close()

    def __enter__(self) -> PostgresJobStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def migrate_jobs(db: psycopg.Connection[Any]) -> int:
    """Bring the jobs table up to SCHEMA_VERSION under the migration lock; returns it (db: autocommit)."""
    db.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
    try:
        db.execute(_VERSION_TABLE)
        with db.cursor(row_factory=tuple_row) as cursor:
            row = cursor.execute("SELECT version FROM schema_version WHERE component = %s",
                                 (COMPONENT,)).fetchone()
        found = int(row[0]) if row else 0
        if found > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"The jobs table has schema version {found}, but this release of Image Studio knows "
                f"versions up to {SCHEMA_VERSION}: run the newer release on every replica.")
        apply_migrations(db, COMPONENT, MIGRATIONS, found)
    finally:
        db.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return SCHEMA_VERSION
