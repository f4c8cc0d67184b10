"""Runs Generate jobs in the background, at most a few per workspace at once, recording each in its row."""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lib.errors import ImageStudioError
from lib.history_entry import HistoryEntry
from lib.history_store_base import HistorySaveError
from lib.jobs import Job, JobStore
from lib.workspace import Outcome

logger = logging.getLogger(__name__)

# Jobs of one person (workspace) sent at once; more wait their turn. Four, like one click's images.
JOBS_AT_ONCE_PER_WORKSPACE = 4
# Threads for every workspace of this process together: each mostly waits on the API.
WORKERS = 32
UNEXPECTED = "Something went wrong in the app while running this job. Please try again."


@dataclass(frozen=True)
class UnsavedResult:
    """A paid image History could not keep, held in this process until the person downloads it."""

    png: bytes
    entry: HistoryEntry | None


class JobRunner:
    """One per process: takes jobs with the call that does each, and runs them as their turn comes."""

    def __init__(self, jobs: JobStore, *, per_workspace: int = JOBS_AT_ONCE_PER_WORKSPACE,
                 workers: int = WORKERS,
                 describe_error: Callable[[ImageStudioError], str] | None = None) -> None:
        self.jobs = jobs
        # How a failure is worded in its row: plain words for people (never the key: errors never hold it).
        self._describe = describe_error or (lambda error: error.message or UNEXPECTED)
        self.per_workspace = per_workspace
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="generate-job")
        self._lock = threading.Lock()
        self._waiting: dict[str, collections.deque[tuple[str, Callable[[], Outcome]]]] = {}
        self._running: dict[str, int] = {}
        self._unsaved: dict[str, UnsavedResult] = {}
        self._errors: dict[str, ImageStudioError] = {}  # what each failed job met, for the page to learn from

    def submit(self, job: Job, call: Callable[[], Outcome]) -> None:
        """Queue a job's call (it holds the client in memory only); it starts when the workspace has room."""
        with self._lock:
            self._waiting.setdefault(job.workspace_id, collections.deque()).append((job.id, call))
        self._start_next(job.workspace_id)

    def running_count(self, workspace_id: str) -> int:
        """How many of this workspace's jobs this process is sending now."""
        with self._lock:
            return self._running.get(workspace_id, 0)

    def unsaved(self, job_id: str) -> UnsavedResult | None:
        """The paid image of a job whose save to History failed, while this process holds it."""
        with self._lock:
            return self._unsaved.get(job_id)

    def error(self, job_id: str) -> ImageStudioError | None:
        """The error a failed job of this process met (a 401 tells the page the key was refused)."""
        with self._lock:
            return self._errors.get(job_id)

    def shutdown(self) -> None:
        """Stop taking jobs; those running end on their own."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _start_next(self, workspace_id: str) -> None:
        with self._lock:
            waiting = self._waiting.get(workspace_id)
            while waiting and self._running.get(workspace_id, 0) < self.per_workspace:
                job_id, call = waiting.popleft()
                self._running[workspace_id] = self._running.get(workspace_id, 0) + 1
                self._pool.submit(self._run, workspace_id, job_id, call)

    def _run(self, workspace_id: str, job_id: str, call: Callable[[], Outcome]) -> None:
        try:
            if self.jobs.start(job_id):  # a job cancelled while queued is never sent
                self._record(job_id, call)
        except Exception:  # a worker must never leave its row "running" for ever, nor take the pool down
            logger.exception("A generate job could not be recorded")
        finally:
            with self._lock:
                self._running[workspace_id] -= 1
            self._start_next(workspace_id)

    def _record(self, job_id: str, call: Callable[[], Outcome]) -> None:
        try:
            outcome = call()
        except ImageStudioError as error:
            with self._lock:
                _keep_latest(self._errors, job_id, error)
                if isinstance(error, HistorySaveError) and error.image_png:
                    _keep_latest(self._unsaved, job_id, UnsavedResult(error.image_png, error.entry))
            self.jobs.fail(job_id, self._describe(error))
        except Exception:
            logger.exception("A generate job failed unexpectedly")
            self.jobs.fail(job_id, UNEXPECTED)
        else:
            self.jobs.finish(job_id, outcome.entry.id, credits_used=outcome.credits_used,
                             credits_remaining=outcome.credits_remaining, is_preview=outcome.is_preview)


# Failures and unsaved images kept in memory per process: enough for every recent job to be shown.
KEPT_IN_MEMORY = 200


def _keep_latest(kept: dict[str, Any], job_id: str, value: Any) -> None:
    """Add to a dict of recent jobs, dropping the oldest beyond KEPT_IN_MEMORY (dicts keep their order)."""
    kept[job_id] = value
    while len(kept) > KEPT_IN_MEMORY:
        del kept[next(iter(kept))]
