"""Generate never blocks, in a real browser: two quick clicks both finish; a job outlives a page change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.fault_server import FaultServer

from . import ui
from .harness import StreamlitServer, assert_no_traceback, open_app, running_app, wait_idle

SLOW_S = 4.0  # long enough to click again, and to visit History, while the first job runs


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
