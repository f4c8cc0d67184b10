"""Generate jobs as rows, so none is lost silently: queued, running, done, failed, interrupted or cancelled.

One row per paid call. The rows say which process runs a job (host, pid and a per-process boot id), so a
later visit can tell a job whose process died (interrupted: its credits may have been spent) from one
still on its way. No row holds an API key or an image: results are History entries, named by id.
The rules live in JobStore; SqliteJobStore here and lib/shared_store/postgres_jobs.py only run its SQL.
"""

from __future__ import annotations

import abc
import os
import re
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUEUED, RUNNING, DONE, FAILED, INTERRUPTED, CANCELLED = (
    "queued", "running", "done", "failed", "interrupted", "cancelled")
ACTIVE = (QUEUED, RUNNING)
JOBS_FILE = "jobs.sqlite3"
# A running job on another machine cannot be checked by its process id. The client's timeouts end every
# call long before this, so a row still "running" after it has no process waiting for it any more.
STALE_AFTER_SECONDS = 30 * 60
# How long an interrupted job stays listed until dismissed: long enough to be seen on the next visit.
INTERRUPTED_SHOWN_SECONDS = 24 * 60 * 60
NEVER_SENT = "The app restarted before this job was sent: nothing was spent. Press Generate again."
MAYBE_SPENT = ("The app restarted while this job was running: the credits may have been spent. "
               "If the image was made, it is not in History.")

_COLUMNS = ("id", "workspace_id", "batch_id", "slot", "prompt", "model", "aspect_ratio", "status",
            "created_at", "started_at", "finished_at", "entry_id", "error", "credits_used",
            "credits_remaining", "is_preview", "arrived_after_cancel", "dismissed", "owner_host",
            "owner_pid", "owner_boot")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM generate_jobs"
# Both backends take this table as written (BIGINT and DOUBLE PRECISION are SQLite type names too).
CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS generate_jobs (
    id                   TEXT PRIMARY KEY,
    workspace_id         TEXT NOT NULL,
    batch_id             TEXT NOT NULL,
    slot                 INTEGER NOT NULL,
    prompt               TEXT NOT NULL,
    model                TEXT NOT NULL,
    aspect_ratio         TEXT,
    status               TEXT NOT NULL,
    created_at           DOUBLE PRECISION NOT NULL,
    started_at           DOUBLE PRECISION,
    finished_at          DOUBLE PRECISION,
    entry_id             TEXT,
    error                TEXT,
    credits_used         INTEGER,
    credits_remaining    INTEGER,
    is_preview           BOOLEAN NOT NULL DEFAULT FALSE,
    arrived_after_cancel BOOLEAN NOT NULL DEFAULT FALSE,
    dismissed            BOOLEAN NOT NULL DEFAULT FALSE,
    owner_host           TEXT NOT NULL,
    owner_pid            BIGINT NOT NULL,
    owner_boot           TEXT NOT NULL
)
"""
CREATE_INDEXES = (
    "CREATE INDEX IF NOT EXISTS generate_jobs_by_workspace ON generate_jobs (workspace_id, created_at)",
    "CREATE INDEX IF NOT EXISTS generate_jobs_by_status ON generate_jobs (status)",
)


@dataclass(frozen=True)
class ProcessIdentity:
    """Who runs a job: the machine, the process id, and a boot id that a restarted process never repeats."""

    host: str
    pid: int
    boot: str


THIS_PROCESS = ProcessIdentity(socket.gethostname(), os.getpid(), secrets.token_hex(8))


@dataclass(frozen=True)
class Job:
    """One paid call of a Generate click, as its row says."""

    id: str
    workspace_id: str
    batch_id: str  # the click it belongs to
    slot: int  # its place among the click's images
    prompt: str
    model: str
    aspect_ratio: str | None
    status: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    entry_id: str | None  # the History entry of its image, once saved
    error: str | None  # why it failed or was interrupted, in plain words
    credits_used: int | None
    credits_remaining: int | None
    is_preview: bool
    arrived_after_cancel: bool  # cancelled, yet the paid image came back and was saved to History
    dismissed: bool
    owner_host: str
    owner_pid: int
    owner_boot: str

    @property
    def is_active(self) -> bool:
        """Queued or running: somebody is still waiting for it."""
        return self.status in ACTIVE

    def elapsed(self, now: float | None = None) -> float:
        """Seconds since it was queued, until it finished (or until now)."""
        end = self.finished_at if self.finished_at is not None else (now or time.time())
        return max(0.0, end - self.created_at)


def owner_is_gone(job: Job, me: ProcessIdentity = THIS_PROCESS, now: float | None = None) -> bool:
    """True when the process that owns an active job can no longer be running it."""
    if job.owner_boot == me.boot:
        return False
    if job.owner_host == me.host:
        if job.owner_pid == me.pid:
            return True  # this process id, another boot: the earlier process is gone
        return not _process_exists(job.owner_pid)
    since = job.started_at or job.created_at
    return (now or time.time()) - since > STALE_AFTER_SECONDS


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's process, alive
        return True
    return True


class JobStore(abc.ABC):
    """The job rows of every workspace; thread-safe. Subclasses run the SQL on their database."""

    @abc.abstractmethod
    def _query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one statement written with :name parameters; its rows (none for a write)."""

    @abc.abstractmethod
    def _write_many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run one statement for each row, all in one transaction."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the database connection(s)."""

    # -- writing -------------------------------------------------------------------------------------

    def add_batch(self, workspace_id: str, prompt: str, models: Sequence[str], aspect_ratio: str | None,
                  owner: ProcessIdentity = THIS_PROCESS) -> list[Job]:
        """Queue one job per model (one Generate click), owned by `owner`; returns them in slot order."""
        batch_id = secrets.token_hex(8)
        now = time.time()
        jobs = [Job(id=secrets.token_hex(12), workspace_id=workspace_id, batch_id=batch_id, slot=slot,
                    prompt=prompt, model=model, aspect_ratio=aspect_ratio, status=QUEUED, created_at=now,
                    started_at=None, finished_at=None, entry_id=None, error=None, credits_used=None,
                    credits_remaining=None, is_preview=False, arrived_after_cancel=False, dismissed=False,
                    owner_host=owner.host, owner_pid=owner.pid, owner_boot=owner.boot)
                for slot, model in enumerate(models)]
        placeholders = ", ".join(f":{name}" for name in _COLUMNS)
        self._write_many(f"INSERT INTO generate_jobs ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                         [vars(job) for job in jobs])
        return jobs

    def start(self, job_id: str) -> bool:
        """Mark a queued job running; False when it is no longer queued (cancelled): then it is not sent."""
        rows = self._query("UPDATE generate_jobs SET status = :running, started_at = :now "
                           "WHERE id = :id AND status = :queued RETURNING id",
                           {"running": RUNNING, "now": time.time(), "id": job_id, "queued": QUEUED})
        return bool(rows)

    def finish(self, job_id: str, entry_id: str, *, credits_used: int | None = None,
               credits_remaining: int | None = None, is_preview: bool = False) -> Job | None:
        """Record a job's saved image; a job cancelled meanwhile stays cancelled, marked as arrived after."""
        self._query(
            "UPDATE generate_jobs SET entry_id = :entry_id, credits_used = :used, credits_remaining = :left, "
            "is_preview = :preview, finished_at = :now, "
            "arrived_after_cancel = (status = :cancelled), "
            "status = CASE WHEN status = :cancelled THEN status ELSE :done END WHERE id = :id",
            {"entry_id": entry_id, "used": credits_used, "left": credits_remaining, "preview": is_preview,
             "now": time.time(), "cancelled": CANCELLED, "done": DONE, "id": job_id})
        return self.get(job_id)

    def fail(self, job_id: str, error: str) -> Job | None:
        """Record why a job failed (a cancelled job keeps its status; the reason is kept all the same)."""
        self._query("UPDATE generate_jobs SET error = :error, finished_at = :now, "
                    "status = CASE WHEN status = :cancelled THEN status ELSE :failed END WHERE id = :id",
                    {"error": error, "now": time.time(), "cancelled": CANCELLED, "failed": FAILED,
                     "id": job_id})
        return self.get(job_id)

    def cancel(self, workspace_id: str, job_id: str) -> bool:
        """Stop waiting for a queued or running job of this workspace; False when it had already ended."""
        rows = self._query("UPDATE generate_jobs SET status = :cancelled, finished_at = :now "
                           "WHERE id = :id AND workspace_id = :ws AND status IN (:queued, :running) "
                           "RETURNING id",
                           {"cancelled": CANCELLED, "now": time.time(), "id": job_id, "ws": workspace_id,
                            "queued": QUEUED, "running": RUNNING})
        return bool(rows)

    def dismiss(self, workspace_id: str, job_id: str) -> None:
        """Stop listing an interrupted job (the row stays)."""
        self._query("UPDATE generate_jobs SET dismissed = TRUE WHERE id = :id AND workspace_id = :ws",
                    {"id": job_id, "ws": workspace_id})

    def interrupt_orphans(self, workspace_id: str, me: ProcessIdentity = THIS_PROCESS) -> int:
        """Mark this workspace's active jobs whose process is gone as interrupted; returns how many."""
        orphans = [job for job in self._jobs("workspace_id = :ws AND status IN (:queued, :running) "
                                             "AND owner_boot <> :boot",
                                             {"ws": workspace_id, "queued": QUEUED, "running": RUNNING,
                                              "boot": me.boot})
                   if owner_is_gone(job, me)]
        for job in orphans:
            # Only if still as read: a job that ended meanwhile keeps its real end.
            self._query("UPDATE generate_jobs SET status = :interrupted, error = :error, finished_at = :now "
                        "WHERE id = :id AND status = :was",
                        {"interrupted": INTERRUPTED, "now": time.time(), "id": job.id, "was": job.status,
                         "error": MAYBE_SPENT if job.status == RUNNING else NEVER_SENT})
        return len(orphans)

    # -- reading -------------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        """One job by id, or None."""
        found = self._jobs("id = :id", {"id": job_id})
        return found[0] if found else None

    def in_progress(self, workspace_id: str, now: float | None = None) -> list[Job]:
        """The jobs to list as in progress, oldest first: queued, running, and recently interrupted ones."""
        since = (now or time.time()) - INTERRUPTED_SHOWN_SECONDS
        return self._jobs("workspace_id = :ws AND (status IN (:queued, :running) OR "
                          "(status = :interrupted AND NOT dismissed AND created_at > :since))",
                          {"ws": workspace_id, "queued": QUEUED, "running": RUNNING,
                           "interrupted": INTERRUPTED, "since": since})

    def latest_batch(self, workspace_id: str, *, with_image: bool = False) -> list[Job]:
        """The jobs of this workspace's most recent Generate click (that made an image), in slot order."""
        made = " AND entry_id IS NOT NULL" if with_image else ""
        newest = self._query(f"SELECT batch_id FROM generate_jobs WHERE workspace_id = :ws{made} "
                             "ORDER BY created_at DESC LIMIT 1", {"ws": workspace_id})
        if not newest:
            return []
        return sorted(self._jobs("batch_id = :batch", {"batch": newest[0]["batch_id"]}),
                      key=lambda job: job.slot)

    def _jobs(self, where: str, params: Mapping[str, Any]) -> list[Job]:
        rows = self._query(f"{_SELECT} WHERE {where} ORDER BY created_at, slot", params)
        return [_job(row) for row in rows]


def _job(row: Mapping[str, Any]) -> Job:
    values = {name: row[name] for name in _COLUMNS}
    for flag in ("is_preview", "arrived_after_cancel", "dismissed"):
        values[flag] = bool(values[flag])  # SQLite keeps booleans as 0 and 1
    return Job(**values)


class SqliteJobStore(JobStore):
    """Job rows in a SQLite file of the data folder (jobs.sqlite3), beside the embedded history."""

    def __init__(self, data_dir: str | Path) -> None:
        folder = Path(data_dir)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / JOBS_FILE
        self._lock = threading.Lock()
        # One connection shared by the page threads and the workers, each statement under the lock.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        with self._locked() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(CREATE_TABLE)
            for statement in CREATE_INDEXES:
                db.execute(statement)

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._db

    def _query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._locked() as db:
            return [dict(row) for row in db.execute(sql, dict(params or {})).fetchall()]

    def _write_many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        with self._locked() as db:
            db.execute("BEGIN")
            try:
                db.executemany(sql, [dict(row) for row in rows])
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        """Close the database file."""
        with self._locked() as db:
            db.close()

    def __enter__(self) -> SqliteJobStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_NAMED = re.compile(r":([a-z_]+)\b")


def pyformat(sql: str) -> str:
    """The statement with :name parameters written as %(name)s, for drivers that take that style."""
    return _NAMED.sub(r"%(\1)s", sql)
