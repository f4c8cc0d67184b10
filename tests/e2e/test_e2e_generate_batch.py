"""Four images from one click in a real browser: the total cost before the click, all four after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from . import ui
from .harness import StreamlitServer, assert_no_traceback, open_app, wait_idle


@pytest.fixture
def page(browser, offline_app: StreamlitServer) -> Iterator[Page]:
    """A fresh tab on the offline app."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = open_app(context, offline_app.url)
    yield page
    assert_no_traceback(page)
    context.close()


def test_four_images_in_one_click(page: Page) -> None:
    """Images = 4 says 16 credits on the button's line; one click shows four images, each downloadable."""
    ui.type_prompt(page, "four paper kites over the dunes")
    ui.main(page).locator(".st-key-generate_images").get_by_role("radio", name="4", exact=True).click()
    generate = ui.button(page, "Generate 4 images")
    expect(generate).to_be_visible()
    expect(ui.main(page).get_by_text("16 credits", exact=True)).to_be_visible()
    wait_idle(page)

    generate.click()
    downloads = ui.main(page).get_by_role("button", name="Download PNG")
    ui.expect_shown(page, downloads.nth(3))
    wait_idle(page)
    expect(downloads).to_have_count(4)
    expect(ui.main(page).get_by_test_id("stImageContainer")).to_have_count(4)
    expect(ui.main(page).get_by_test_id("stAlert")).to_have_count(0)
