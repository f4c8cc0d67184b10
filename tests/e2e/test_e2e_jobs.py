"""Generate never blocks, in a real browser: quick clicks, leaving the page, Cancel, and a restart mid-job."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from lib.jobs import SqliteJobStore
from tests.fault_server import FaultServer

from . import ui
from .harness import StreamlitServer, assert_no_traceback, open_app, running_app, wait_idle

SLOW_S = 4.0  # long enough to click again, and to visit History, while the first job runs
SLOWER_S = 8.0  # five clicks and a Cancel, or a restart, fit well inside it even on a busy machine


@pytest.fixture(scope="module")
def slow_server() -> Iterator[FaultServer]:
    """An API server that answers each generation after a few seconds."""
    with FaultServer(slow_seconds=SLOW_S) as server:
        yield server


@pytest.fixture(scope="module")
def slow_app(tmp_path_factory: pytest.TempPathFactory, slow_server: FaultServer) -> Iterator[StreamlitServer]:
    """The app pointed at the slow server."""
    env = {"IMAGE_STUDIO_ENDPOINT": slow_server.endpoint("slow"), "IMAGE_STUDIO_API_KEY": "sk_slow_jobs"}
    with running_app(tmp_path_factory.mktemp("jobs_app"), env) as server:
        yield server
        server.assert_no_traceback_logged()


@pytest.fixture
def page(browser, slow_app: StreamlitServer) -> Iterator[Page]:
    """A fresh tab on the slow app."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = open_app(context, slow_app.url)
    yield page
    assert_no_traceback(page)
    context.close()


def _panel_row(page: Page, prompt: str):  # -> Locator
    """The In progress panel's line for a prompt."""
    return ui.main(page).get_by_test_id("stMarkdownContainer").filter(has_text=prompt).filter(
        has_text="flux-2-pro")


def test_two_quick_clicks_both_finish_and_survive_leaving_the_page(page: Page) -> None:
    """Generate, edit the prompt, Generate again at once; visit History and come back; both images arrive."""
    ui.type_prompt(page, "the first kite, red")
    ui.button(page, "Generate").click()
    expect(ui.main(page).get_by_role("heading", name="In progress")).to_be_visible()
    expect(_panel_row(page, "the first kite, red")).to_be_visible()
    ui.type_prompt(page, "the second kite, blue")  # the page is ours again while the first runs
    ui.button(page, "Generate").click()
    expect(_panel_row(page, "the second kite, blue")).to_be_visible()
    expect(ui.main(page).get_by_role("button", name="Cancel")).to_have_count(2)

    ui.go_to(page, "History")
    ui.go_to(page, "Generate")
    expect(_panel_row(page, "the second kite, blue")).to_be_visible()  # read from the job rows

    # The panel updates by itself: no click is needed for the results to come in.
    expect(ui.main(page).get_by_role("heading", name="In progress")).to_have_count(0, timeout=30_000)
    expect(ui.main(page).get_by_role("button", name="Download PNG")).to_be_visible()
    wait_idle(page)
    ui.go_to(page, "History")
    expect(ui.history_captions(page).filter(has_text="the first kite, red")).to_have_count(1)
    expect(ui.history_captions(page).filter(has_text="the second kite, blue")).to_have_count(1)


def _workspace_of(page: Page) -> str:
    """The workspace id in the tab's address."""
    [workspace] = parse_qs(urlparse(page.url).query)["ws"]
    return workspace


def _wait_for_saved_image(data_dir: Path | None, workspace_id: str, timeout_s: float = 30.0) -> None:
    """Poll the job rows until the latest click's image is saved to History (the page is not told)."""
    assert data_dir is not None
    deadline = time.monotonic() + timeout_s
    with SqliteJobStore(data_dir) as jobs:
        while not all(job.entry_id for job in jobs.latest_batch(workspace_id)):
            assert time.monotonic() < deadline, "the cancelled job's image never arrived"
            time.sleep(0.1)


def _generation_requests(server: FaultServer, prompts: set[str]) -> int:
    """How many generation calls with one of these prompts reached the server."""
    return sum(1 for post in server.posts() if post.json().get("prompt") in prompts)


@pytest.fixture
def slower_server(slow_server: FaultServer) -> Iterator[FaultServer]:
    """The slow server, slower for one test: its jobs still run after several clicks, or a restart."""
    slow_server.slow_seconds = SLOWER_S
    yield slow_server
    slow_server.slow_seconds = SLOW_S


def test_cancelling_a_running_job_keeps_its_paid_image_marked(page: Page, slow_app: StreamlitServer) -> None:
    """Cancel a running job: it leaves the panel; its image, paid for, still lands in History, marked."""
    prompt = "a kite cancelled in flight"
    ui.type_prompt(page, prompt)
    ui.button(page, "Generate").click()
    expect(_panel_row(page, prompt)).to_be_visible()
    ui.main(page).get_by_role("button", name="Cancel").click()
    expect(ui.main(page).get_by_role("heading", name="In progress")).to_have_count(0)
    expect(ui.main(page).get_by_text("Cancelled.", exact=True)).to_be_visible()
    wait_idle(page)

    _wait_for_saved_image(slow_app.data_dir, _workspace_of(page))
    ui.go_to(page, "History")
    expect(ui.history_captions(page).filter(has_text=prompt)).to_have_count(1)
    ui.go_to(page, "Generate")
    expect(ui.main(page).get_by_text("Arrived after you cancelled", exact=False)).to_be_visible()
    expect(ui.main(page).get_by_role("button", name="Download PNG")).to_be_visible()
    expect(ui.main(page).get_by_text("Cancelled.", exact=True)).to_have_count(0)


def test_a_cancelled_waiting_job_is_never_sent(page: Page, slower_server: FaultServer) -> None:
    """Five clicks: four run and one waits its turn; cancelled while waiting, it never reaches the server."""
    prompts = [f"kite number {number} in the queue" for number in range(1, 6)]
    for prompt in prompts:
        ui.type_prompt(page, prompt)
        ui.button(page, "Generate").click()
        expect(_panel_row(page, prompt)).to_be_visible()
    blocks = ui.main(page).get_by_test_id("stHorizontalBlock")
    rows = blocks.filter(has_not=page.get_by_test_id("stHorizontalBlock"))  # the panel's rows, not the layout
    waiting = rows.filter(has_text="Waiting for its turn")
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text(prompts[-1])
    waiting.get_by_role("button", name="Cancel").click()
    expect(_panel_row(page, prompts[-1])).to_have_count(0)
    expect(ui.main(page).get_by_role("button", name="Cancel")).to_have_count(4)
    expect(ui.main(page).get_by_text("Cancelled.", exact=True)).to_be_visible()

    expect(ui.main(page).get_by_role("heading", name="In progress")).to_have_count(0, timeout=60_000)
    wait_idle(page)
    assert _generation_requests(slower_server, set(prompts[:-1])) == 4
    assert _generation_requests(slower_server, {prompts[-1]}) == 0
    ui.go_to(page, "History")
    for prompt in prompts[:-1]:
        expect(ui.history_captions(page).filter(has_text=prompt)).to_have_count(1)
    expect(ui.history_captions(page).filter(has_text=prompts[-1])).to_have_count(0)


def test_a_job_running_when_the_app_restarts_is_shown_interrupted(
        browser, tmp_path: Path, slower_server: FaultServer) -> None:
    """Kill the app while a job runs, start it again on the same data: the job reads as interrupted."""
    prompt = "a kite caught in a restart"
    env = {"IMAGE_STUDIO_ENDPOINT": slower_server.endpoint("slow"), "IMAGE_STUDIO_API_KEY": "sk_slow_restart"}
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        with running_app(tmp_path, env) as first:
            page = open_app(context, first.url)
            ui.type_prompt(page, prompt)
            ui.button(page, "Generate").click()
            expect(_panel_row(page, prompt).filter(has_text="Running")).to_be_visible()
            workspace = _workspace_of(page)
            first.process.kill()  # no goodbye: the job's worker dies with it
            first.process.wait(timeout=10)
        with running_app(tmp_path, env) as second:
            page = open_app(context, second.url, f"?ws={workspace}")
            line = _panel_row(page, prompt).filter(has_text="Interrupted")
            expect(line).to_contain_text("the credits may have been spent")
            expect(ui.main(page).get_by_test_id("stAlert")).to_contain_text("credits may have been spent")
            expect(ui.main(page).get_by_role("button", name="Cancel")).to_have_count(0)
            ui.main(page).get_by_role("button", name="Dismiss").click()
            expect(line).to_have_count(0)
            assert_no_traceback(page)
            second.assert_no_traceback_logged()
    finally:
        context.close()
