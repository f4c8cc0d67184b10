"""History in a browser at 1366×768: click a thumbnail to select it, View large fits, cut-outs keep names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from lib.store import HistoryStore
from lib.workspace_links import is_genuine_workspace_id, mint_workspace_id, stored_secret
from tests.app_testing import png_bytes

from . import ui
from .harness import StreamlitServer, assert_no_traceback, open_app, wait_idle

VIEWPORT = {"width": 1366, "height": 768}
TALL_PROMPT = "a lighthouse, very tall"
WIDE_PROMPT = "a harbour at dawn, very wide"
SOURCE_NAME = "holiday-photo.jpg"


@pytest.fixture(scope="module")
def workspace(offline_app: StreamlitServer) -> str:
    """A workspace the app minted, holding (newest first) a cut-out, a very tall and a very wide image."""
    assert offline_app.data_dir is not None
    workspace = mint_workspace_id(stored_secret(offline_app.data_dir))
    with HistoryStore(offline_app.data_dir) as store:
        store.add(workspace, "generation", prompt=WIDE_PROMPT, image_png=png_bytes((2048, 864), "#3366cc"),
                  model="flux-2-pro", aspect_ratio="21:9", credits_used=4)
        store.add(workspace, "generation", prompt=TALL_PROMPT, image_png=png_bytes((864, 2048), "#cc6633"),
                  model="flux-2-pro", aspect_ratio="9:21", credits_used=4)
        cutout = png_bytes((640, 480), "#33aa55", "RGBA")
        store.add(workspace, "cutout", prompt="remove background", image_png=cutout, credits_used=2,
                  source_name=SOURCE_NAME)
    return workspace


@pytest.fixture
def page(browser, offline_app: StreamlitServer, workspace: str) -> Iterator[Page]:
    """A laptop-sized tab on that workspace's History page."""
    context = browser.new_context(viewport=VIEWPORT)
    page = open_app(context, offline_app.url, f"history?ws={workspace}")
    expect(ui.history_items(page)).to_have_count(3)
    yield page
    assert_no_traceback(page)
    context.close()


def test_clicking_a_thumbnail_selects_it_visibly(page: Page) -> None:
    """A click on a thumbnail's picture selects it: a frame and "Selected" move to it, the details follow."""
    first, third = ui.history_item(page, 1), ui.history_item(page, 3)
    expect(first.get_by_test_id("stImageCaption")).to_contain_text("Selected")
    expect(first).to_have_css("outline-style", "solid")
    ui.click_thumbnail(page, 3)
    expect(third.get_by_test_id("stImageCaption")).to_contain_text("Selected")
    expect(third).to_have_css("outline-style", "solid")
    expect(first.get_by_test_id("stImageCaption")).not_to_contain_text("Selected")
    expect(first).to_have_css("outline-style", "none")
    details = ui.main(page).get_by_test_id("stMarkdown").get_by_test_id("stCaptionContainer")
    expect(details.filter(has_text=WIDE_PROMPT)).to_have_count(1)


@pytest.mark.parametrize(("number", "prompt"), [(2, TALL_PROMPT), (3, WIDE_PROMPT)])
def test_view_large_fits_the_window(page: Page, number: int, prompt: str) -> None:
    """View large shows the whole image inside the 1366×768 window, tall or wide, without scrolling."""
    ui.select_history_item(page, number)
    ui.button(page, "View large").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_test_id("stCaptionContainer").filter(has_text=prompt)).to_be_visible()
    image = dialog.get_by_test_id("stImage").locator("img")
    expect(image).to_be_visible()
    wait_idle(page)
    box = image.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= VIEWPORT["width"], box
    assert box["y"] + box["height"] <= VIEWPORT["height"], box
    natural = image.evaluate("img => img.naturalWidth / img.naturalHeight")
    assert abs(box["width"] / box["height"] - natural) < 0.02  # scaled, not squashed
    expect(dialog.get_by_role("button", name="Download PNG")).to_be_visible()


def test_cutout_caption_and_download_keep_the_uploaded_name(page: Page, tmp_path: Path) -> None:
    """A cut-out is captioned with its uploaded file's name, and its Download is named after that file."""
    expect(ui.history_item(page, 1).get_by_test_id("stImageCaption")).to_contain_text(SOURCE_NAME)
    saved = ui.download(page, ui.button(page, "Download"), tmp_path)
    assert saved.name == "holiday-photo-cutout.png"
    with Image.open(saved) as image:
        assert image.format == "PNG" and image.mode == "RGBA"


def test_planted_workspace_link_opens_a_fresh_workspace(browser, offline_app: StreamlitServer) -> None:
    """Opening /?ws=<an id the app never minted> gives a fresh, genuine id in the address, empty History."""
    assert offline_app.data_dir is not None
    planted = "planted-string-0123456789abcdef"  # the shape of an id, but nobody's genuine one
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = open_app(context, offline_app.url, f"history?ws={planted}")
        expect(ui.main(page).get_by_text("Nothing here yet")).to_be_visible()
        expect(page).not_to_have_url(f"{offline_app.url}/history?ws={planted}")
        [opened] = parse_qs(urlparse(page.url).query)["ws"]
        assert opened != planted
        assert is_genuine_workspace_id(opened, stored_secret(offline_app.data_dir))
        assert_no_traceback(page)
    finally:
        context.close()
