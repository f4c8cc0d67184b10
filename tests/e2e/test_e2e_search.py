"""History's Search in a browser: typed words filter the grid with its count, with the kind filter too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from lib.store import HistoryStore
from lib.workspace_links import mint_workspace_id, stored_secret
from tests.app_testing import png_bytes

from . import ui
from .harness import StreamlitServer, assert_no_traceback, open_app, wait_idle

KITE = "a red kite over the dunes"
LIGHTHOUSE = "a red lighthouse at dusk"
HARBOUR = "a blue harbour at dawn"
SETTER = "red-setter.jpg"  # a cut-out found by its uploaded file's name
HOLIDAY = "holiday-photo.jpg"


@pytest.fixture(scope="module")
def workspace(offline_app: StreamlitServer) -> str:
    """A workspace the app minted, with three generations of different prompts and two named cut-outs."""
    assert offline_app.data_dir is not None
    workspace = mint_workspace_id(stored_secret(offline_app.data_dir))
    with HistoryStore(offline_app.data_dir) as store:
        for prompt, colour in ((KITE, "#cc3333"), (LIGHTHOUSE, "#aa2222"), (HARBOUR, "#3366cc")):
            store.add(workspace, "generation", prompt=prompt, image_png=png_bytes((96, 64), colour),
                      model="flux-2-pro", aspect_ratio="3:2", credits_used=4)
        for name, colour in ((SETTER, "#884422"), (HOLIDAY, "#33aa55")):
            store.add(workspace, "cutout", prompt="remove background",
                      image_png=png_bytes((96, 64), colour, "RGBA"), credits_used=2, source_name=name)
    return workspace


@pytest.fixture
def page(browser, offline_app: StreamlitServer, workspace: str) -> Iterator[Page]:
    """A tab on that workspace's History page, all five items shown."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = open_app(context, offline_app.url, f"history?ws={workspace}")
    expect(ui.history_items(page)).to_have_count(5)
    yield page
    assert_no_traceback(page)
    context.close()


def _search(page: Page, words: str) -> None:
    """Type words in Search (the gallery follows after a short pause)."""
    box = ui.main(page).get_by_role("searchbox", name="Search")
    box.fill(words)
    expect(box).to_have_value(words)


def _show(page: Page, kind: str) -> None:
    """Pick a kind in the Show filter."""
    ui.main(page).locator(".st-key-history_filter").get_by_role("radio", name=kind, exact=True).click()


def _expect_grid(page: Page, titles: list[str], total: int) -> None:
    """The grid shows exactly these titles (newest first) and the page bar counts `total` items."""
    captions: Locator = ui.history_captions(page)
    expect(captions).to_have_count(len(titles))
    for number, title in enumerate(titles):
        expect(captions.nth(number)).to_contain_text(title)
    expect(ui.main(page).get_by_text(f"Page 1 of 1 · {total} items", exact=True)).to_be_visible()
    wait_idle(page)


def test_search_filters_the_grid_with_the_kind_filter_and_clearing_brings_all_back(page: Page) -> None:
    """Search finds prompts and file names with a count; the kind filter narrows it; cleared, all return."""
    _search(page, "red")
    _expect_grid(page, [SETTER, LIGHTHOUSE, KITE], 3)  # a cut-out by its file name, two by their prompt

    _show(page, "Cut-outs")
    _expect_grid(page, [SETTER], 1)

    _search(page, "harbour")  # a generation's word, among cut-outs: nothing
    expect(ui.main(page).get_by_text("Nothing matches “harbour” among cut-outs.")).to_be_visible()
    expect(ui.history_items(page)).to_have_count(0)

    _show(page, "All")
    _expect_grid(page, [HARBOUR], 1)

    _search(page, "")
    _expect_grid(page, [HOLIDAY, SETTER, HARBOUR, LIGHTHOUSE, KITE], 5)
