"""Job rows (SQLite and a real PostgreSQL) and the runner that sends them, against a slow fault server."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lib.client import ImageStudioClient
from lib.history_entry import new_workspace_id
from lib.job_runner import JobRunner
from lib.jobs import (
    CANCELLED,
    DONE,
    FAILED,
    INTERRUPTED,
    MAYBE_SPENT,
    NEVER_SENT,
    QUEUED,
    RUNNING,
    THIS_PROCESS,
    JobStore,
    ProcessIdentity,
    SqliteJobStore,
)
from lib.store import HistoryStore
from lib.workspace import Workspace
from tests.fault_server import FaultServer

WS = new_workspace_id()


@pytest.fixture(params=["sqlite", "postgres"])
def jobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    """A job store of each backend."""
    if request.param == "sqlite":
        store: JobStore = SqliteJobStore(tmp_path)
    else:
        from lib.shared_store.postgres_jobs import PostgresJobStore

        server = request.getfixturevalue("postgres_server")
        store = PostgresJobStore(server.create_database())
    yield store
    store.close()


def _dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_click_queues_one_row_per_image_and_they_run_then_finish(jobs: JobStore) -> None:
    """add_batch makes queued rows in slot order; start, finish and fail move them along."""
    first, second = jobs.add_batch(WS, "two kites", ["flux-2-pro", "flux-2-pro"], "1:1")
    assert [job.status for job in jobs.in_progress(WS)] == [QUEUED, QUEUED]
    assert jobs.start(first.id) and not jobs.start(first.id)  # only a queued job starts
    jobs.finish(first.id, "entry1", credits_used=4, credits_remaining=96, is_preview=True)
    jobs.start(second.id)
    jobs.fail(second.id, "The server failed (HTTP 500).")
    done, failed = jobs.latest_batch(WS)
    assert (done.status, done.entry_id, done.credits_used, done.is_preview) == (DONE, "entry1", 4, True)
    assert (failed.status, failed.error) == (FAILED, "The server failed (HTTP 500).")
    assert jobs.in_progress(WS) == []
    assert jobs.latest_batch("ws_other") == []


def test_cancel_stops_a_queued_job_and_marks_a_late_result(jobs: JobStore) -> None:
    """A cancelled queued job never starts; a cancelled running one keeps its late result, marked."""
    queued, running = jobs.add_batch(WS, "kites", ["flux-2-pro", "flux-2-pro"], None)
    jobs.start(running.id)
    assert not jobs.cancel("ws_someone_else", queued.id)  # only its own workspace may cancel it
    assert jobs.cancel(WS, queued.id) and jobs.cancel(WS, running.id)
    assert not jobs.start(queued.id)
    late = jobs.finish(running.id, "entry_late", credits_used=4)
    assert late is not None and (late.status, late.entry_id, late.arrived_after_cancel) == (
        CANCELLED, "entry_late", True)
    assert not jobs.cancel(WS, running.id)  # already ended


def test_jobs_of_a_dead_process_are_interrupted(jobs: JobStore) -> None:
    """Running and queued rows of a process that died read as interrupted, saying what may have been spent."""
    dead = ProcessIdentity(THIS_PROCESS.host, _dead_pid(), "an-old-boot")
    running, queued = jobs.add_batch(WS, "kites", ["flux-2-pro", "flux-2-pro"], None, owner=dead)
    jobs.start(running.id)
    mine = jobs.add_batch(WS, "mine", ["flux-2-pro"], None)[0]
    jobs.start(mine.id)
    assert jobs.interrupt_orphans(WS) == 2
    rows = {job.id: job for job in jobs.in_progress(WS)}
    assert (rows[running.id].status, rows[running.id].error) == (INTERRUPTED, MAYBE_SPENT)
    assert (rows[queued.id].status, rows[queued.id].error) == (INTERRUPTED, NEVER_SENT)
    assert rows[mine.id].status == RUNNING  # this process's own job is left alone
    jobs.dismiss(WS, running.id)
    assert running.id not in {job.id for job in jobs.in_progress(WS)}


def test_a_live_process_on_another_machine_is_not_interrupted(jobs: JobStore) -> None:
    """Another replica's fresh running job stays running: its process can't be checked from here."""
    elsewhere = ProcessIdentity("another-machine", 4242, "its-boot")
    [job] = jobs.add_batch(WS, "kites", ["flux-2-pro"], None, owner=elsewhere)
    jobs.start(job.id)
    assert jobs.interrupt_orphans(WS) == 0
    assert jobs.get(job.id).status == RUNNING  # type: ignore[union-attr]


def _wait_until(condition, deadline_s: float = 20.0) -> None:
    """Poll until condition() is true (the runner works in the background)."""
    end = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_runner_sends_at_most_four_per_workspace_and_never_a_cancelled_one(tmp_path: Path) -> None:
    """Six jobs: four are sent at once, a fifth waits its turn, a cancelled sixth is never sent."""
    with FaultServer(slow_seconds=1.0) as server, SqliteJobStore(tmp_path) as jobs, \
            HistoryStore(tmp_path / "history") as history, \
            ImageStudioClient(api_key="sk_test_jobs", endpoint=server.endpoint("slow")) as client:
        runner = JobRunner(jobs)
        workspace = Workspace(client, history, WS)
        batch = jobs.add_batch(WS, "six kites", ["flux-2-pro"] * 6, "1:1")
        jobs.cancel(WS, batch[5].id)
        peak = 0
        lock = threading.Lock()

        def call():
            nonlocal peak
            with lock:
                peak = max(peak, runner.running_count(WS))
            with workspace.client.copy() as own:
                return Workspace(own, history, WS).generate("six kites", model="flux-2-pro",
                                                            aspect_ratio="1:1")

        for job in batch:
            runner.submit(job, call)
        _wait_until(lambda: not jobs.in_progress(WS))
        runner.shutdown()
        statuses = [job.status for job in jobs.latest_batch(WS)]
        assert statuses == [DONE] * 5 + [CANCELLED], [job.error for job in jobs.latest_batch(WS)]
        assert peak == 4
        assert len(server.posts()) == 5
        assert len(history.list(WS, limit=10)) == 5


def test_the_last_click_that_made_an_image_can_be_found(jobs: JobStore) -> None:
    """After a click that failed, the click before it (with its image) is still found."""
    [made] = jobs.add_batch(WS, "made", ["flux-2-pro"], None)
    jobs.start(made.id)
    jobs.finish(made.id, "entry_made")
    [failed] = jobs.add_batch(WS, "failed", ["flux-2-pro"], None)
    jobs.start(failed.id)
    jobs.fail(failed.id, "no")
    assert [job.id for job in jobs.latest_batch(WS)] == [failed.id]
    assert [job.id for job in jobs.latest_batch(WS, with_image=True)] == [made.id]
