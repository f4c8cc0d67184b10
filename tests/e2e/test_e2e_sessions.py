"""Two people at once with their own pasted keys: separate histories, and a key that never comes back out."""

from __future__ import annotations

import secrets
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from lib.local_studio import LocalStudioHandle, StudioConfig, start_local_studio
from lib.local_studio.config import DEFAULT_MODEL_PRICES

from . import ui
from .harness import StreamlitServer, assert_no_traceback, open_app, running_app, wait_idle

# Distinctive keys, so a search through everything the app wrote cannot miss one or mistake it.
APP_KEY = f"sk_e2e_configured_{secrets.token_hex(12)}"
KEY_A = f"sk_e2e_pasted_a_{secrets.token_hex(12)}"
KEY_B = f"sk_e2e_pasted_b_{secrets.token_hex(12)}"
ALL_KEYS = (APP_KEY, KEY_A, KEY_B)
CREDITS = 1000
PRICE = DEFAULT_MODEL_PRICES["flux-2-pro"]
PROMPT_A = "tab A: a red kite over the moor"
PROMPT_B = "tab B: a blue whale in the deep sea"


@dataclass
class Tab:
    """One person's browser tab, with every message the server sent it and every file it saved."""

    context: BrowserContext
    page: Page
    received: list[bytes] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    key: str | None = None  # the key pasted in this tab, if any

    def snapshot(self) -> None:
        """Keep the page's HTML as it is now, for the final search for keys."""
        self.html.append(self.page.content())


@pytest.fixture(scope="module")
def studio() -> Iterator[LocalStudioHandle]:
    """A Local Studio that knows the app's configured key and the two keys people will paste."""
    handle = start_local_studio(config=StudioConfig(api_keys=ALL_KEYS, starting_credits=CREDITS))
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def online_app(
    tmp_path_factory: pytest.TempPathFactory, studio: LocalStudioHandle
) -> Iterator[StreamlitServer]:
    """The app with a configured key and endpoint (environment), as a team would deploy it."""
    env = {"IMAGE_STUDIO_ENDPOINT": studio.endpoint, "IMAGE_STUDIO_API_KEY": APP_KEY}
    with running_app(tmp_path_factory.mktemp("online_app"), env) as server:
        yield server
        server.assert_no_traceback_logged()


def open_tab(browser, url: str) -> Tab:
    """A new browser context (another person) on the app, recording what its websocket receives."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    received: list[bytes] = []
    sent: list[bytes] = []

    def watch(socket) -> None:
        socket.on("framereceived", lambda payload: received.append(_as_bytes(payload)))
        socket.on("framesent", lambda payload: sent.append(_as_bytes(payload)))

    context.on("page", lambda page: page.on("websocket", watch))
    return Tab(context, open_app(context, url), received, sent)


def _as_bytes(payload: str | bytes) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else payload


@pytest.fixture(scope="module")
def tabs(browser, online_app: StreamlitServer) -> Iterator[tuple[Tab, Tab]]:
    """Two people's tabs, open at the same time."""
    first, second = open_tab(browser, online_app.url), open_tab(browser, online_app.url)
    yield first, second
    first.context.close()
    second.context.close()


def use_key(tab: Tab, key: str) -> None:
    """Paste a key into the tab's API key field and press Enter, unless this tab already uses it.

    Each test says which key its tab uses, so a test run on its own (-k) needs no earlier test.
    """
    if tab.key == key:
        return
    sidebar = tab.page.get_by_test_id("stSidebar")
    field = sidebar.get_by_role("textbox", name="API key")
    if tab.key is not None:  # a key is in use: forget it first, which brings the field back
        sidebar.get_by_role("button", name="Forget my API key").click()
        expect(field).to_be_visible()
    field.fill(key)
    field.press("Enter")
    expect(sidebar.get_by_text("Your own API key (this browser tab only) — not checked yet")).to_be_visible()
    wait_idle(tab.page)
    tab.key = key


def credits_remaining(page: Page) -> Locator:
    """The sidebar's line with the balance the server reported."""
    return page.get_by_test_id("stSidebar").get_by_text("Credits remaining:")


def test_two_tabs_keep_their_own_history_and_key(tabs: tuple[Tab, Tab]) -> None:
    """Two browser contexts at once: neither sees the other's history, nor uses or sees its key."""
    a, b = tabs
    if a.key is None:
        expect(a.page.get_by_test_id("stSidebar").get_by_text("The API key from environment")).to_be_visible()
    use_key(a, KEY_A)
    use_key(b, KEY_B)
    ui.generate(a.page, PROMPT_A)
    expect(a.page.get_by_test_id("stSidebar").get_by_text("Your own API key (this browser tab only) works")
           ).to_be_visible()
    ui.generate(b.page, PROMPT_B)
    ui.generate(a.page, PROMPT_A + ", again")
    # Each key has its own ledger: A paid twice with its key, B once with its own.
    expect(credits_remaining(a.page)).to_contain_text(f"{CREDITS - 2 * PRICE:,}")
    expect(credits_remaining(b.page)).to_contain_text(f"{CREDITS - PRICE:,}")

    for tab, mine, theirs in ((a, PROMPT_A, PROMPT_B), (b, PROMPT_B, PROMPT_A)):
        ui.go_to(tab.page, "History")
        expect(ui.history_captions(tab.page).filter(has_text=mine).first).to_be_visible()
        expect(ui.history_captions(tab.page).filter(has_text=theirs)).to_have_count(0)
        tab.snapshot()
        assert_no_traceback(tab.page)
    assert a.page.url.split("ws=")[1] != b.page.url.split("ws=")[1]
    for tab in (a, b):
        html = "\n".join(tab.html)
        assert not any(key in html for key in ALL_KEYS)


def test_pasted_key_is_never_shown_logged_saved_or_downloaded(
    tabs: tuple[Tab, Tab], online_app: StreamlitServer, samples_dir: Path, tmp_path: Path
) -> None:
    """After a full flow with a pasted key, no page, server log, download, zip or stored file holds a key."""
    a, _ = tabs
    page = a.page
    use_key(a, KEY_A)
    ui.go_to(page, "Generate")
    ui.generate(page, "a lantern in the fog")
    a.files.append(ui.download(page, ui.button(page, "Download PNG"), tmp_path))
    a.snapshot()

    ui.go_to(page, "Enhance prompt")
    box = ui.prompt_box(page)
    box.fill("a cat on a windowsill")
    box.blur()
    wait_idle(page)
    ui.button(page, "Enhance").click()
    ui.expect_shown(page, ui.main(page).get_by_role("heading", name="Enhanced"))
    wait_idle(page)
    a.snapshot()

    ui.go_to(page, "Remove background")
    ui.upload(page, "Image", samples_dir / "astronaut.jpg")
    ui.button(page, "Remove background (2 credits)").click()
    ui.expect_shown(page, ui.main(page).get_by_role("heading", name="After"))
    wait_idle(page)
    a.files.append(ui.download(page, ui.button(page, "Download PNG (transparent)"), tmp_path))
    a.snapshot()

    ui.go_to(page, "History")
    a.files.append(ui.download(page, ui.button(page, "Download all (zip)"), tmp_path))
    a.snapshot()
    assert_no_traceback(page)

    places: dict[str, bytes] = {f"page HTML {i}": html.encode() for i, html in enumerate(a.html)}
    places["server log"] = online_app.log_path.read_bytes()
    places["address bar"] = page.url.encode()
    places["websocket messages to the browser"] = b"\n".join(a.received)
    for file in a.files:
        places[f"download {file.name}"] = file.read_bytes()
        if zipfile.is_zipfile(file):
            with zipfile.ZipFile(file) as zipped:
                for name in zipped.namelist():
                    places[f"zip member {name}"] = zipped.read(name)
    stored = [path for path in online_app.data_dir.rglob("*") if path.is_file()]
    assert stored, "the history store wrote nothing to disk"
    for path in stored:
        places[f"data file {path.relative_to(online_app.data_dir)}"] = path.read_bytes()

    assert len(a.files) == 3
    # Control: the search does find a key in these binary frames, since the browser sent it once.
    assert KEY_A.encode() in b"".join(a.sent)
    leaks = [where for where, data in places.items() for key in ALL_KEYS if key.encode() in data]
    assert leaks == []
