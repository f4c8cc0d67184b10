"""The Generate page on a laptop screen: the button in first view, and a key hint that says what it does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from . import ui
from .harness import StreamlitServer, assert_no_traceback, open_app, wait_idle

LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture
def page(browser, offline_app: StreamlitServer) -> Iterator[Page]:
    """A fresh tab on the offline app in a 1366 x 768 window."""
    context = browser.new_context(viewport=LAPTOP)
    page = open_app(context, offline_app.url)
    yield page
    assert_no_traceback(page)
    context.close()


def test_generate_button_is_in_first_view_at_1366x768(page: Page) -> None:
    """On first view at 1366 x 768, the Generate button and its cost are on screen without scrolling."""
    generate = ui.button(page, "Generate")
    expect(generate).to_be_visible()
    assert page.evaluate("window.scrollY") == 0
    box = generate.bounding_box()
    assert box is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= LAPTOP["height"], box
    cost = ui.main(page).get_by_text("4 credits", exact=True).first
    cost_box = cost.bounding_box()
    assert cost_box is not None and cost_box["y"] + cost_box["height"] <= LAPTOP["height"], cost_box


def test_prompt_box_says_what_ctrl_enter_does(page: Page) -> None:
    """Typing in the prompt shows no "Press Ctrl+Enter to apply"; the caption says Ctrl+Enter generates."""
    box = ui.prompt_box(page)
    box.click()
    box.press_sequentially("a kite over the dunes")
    expect(box).to_have_value("a kite over the dunes")
    # Streamlit's hint shows as soon as the box holds text it has not applied yet: here it must not.
    expect(page.get_by_text("Press Ctrl+Enter to apply")).to_be_hidden()
    hint = ui.main(page).get_by_text("Ctrl+Enter generates (4 credits)")
    expect(hint).to_be_visible()
    ui.pick_model(page, "flux-2-klein-9b")
    expect(ui.main(page).get_by_text("Ctrl+Enter generates (1 credit)")).to_be_visible()
    wait_idle(page)


def test_enhance_prompt_box_says_what_ctrl_enter_does(page: Page) -> None:
    """On Enhance prompt, typing shows no "Press Ctrl+Enter to apply"; the caption says it enhances, free."""
    ui.go_to(page, "Enhance prompt")
    box = ui.prompt_box(page)
    box.click()
    box.press_sequentially("a dog on a beach")
    expect(box).to_have_value("a dog on a beach")
    expect(page.get_by_text("Press Ctrl+Enter to apply")).to_be_hidden()
    expect(ui.main(page).get_by_text("Ctrl+Enter enhances (free)")).to_be_visible()
