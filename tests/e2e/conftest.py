"""Browser-test fixtures: system Chromium and `streamlit run app.py` servers, one per test module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import ROOT, StreamlitServer, chromium_path, launch_chromium, running_app

# Long enough for a cold first run of a page on 2 busy cores; an expect returns as soon as it holds.
EXPECT_TIMEOUT_MS = 30_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/e2e as e2e, so `-m "not e2e"` leaves the browser out."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():  # -> playwright.sync_api.Browser
    """Headless system Chromium for the whole run; skips (or fails under CI) when it is missing."""
    if chromium_path() is None:
        reason = "Chromium is not installed (apt-get install -y chromium); browser tests need it"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    if not (ROOT / "app.py").exists():
        pytest.fail("app.py is missing")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def offline_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    """The app with no key configured: it starts its own Local Studio (one server per test module)."""
    with running_app(tmp_path_factory.mktemp("offline_app")) as server:
        yield server
        server.assert_no_traceback_logged()
