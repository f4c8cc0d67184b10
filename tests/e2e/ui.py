"""What a person does in the app, as page actions: find things by role and label, wait on what is shown."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .harness import wait_idle

# Opening a select box's list: how long to wait for it, and how often to try.
_LIST_OPENS_MS = 5_000
_LIST_ATTEMPTS = 3


def main(page: Page) -> Locator:
    """The page's main area (not the sidebar)."""
    return page.get_by_test_id("stMain")


def button(page: Page, label: str) -> Locator:
    """A button in the main area by its visible label (a keyboard shortcut hint may follow the label)."""
    return main(page).get_by_role("button", name=re.compile(rf"^{re.escape(label)}(\s+Shortcut\b.*)?$"))


def go_to(page: Page, title: str) -> None:
    """Open a page from the sidebar menu (unless it is open already) and wait for its heading."""
    heading = main(page).get_by_role("heading", name=title, level=1)
    if heading.is_visible():
        # Clicking the open page would rerun it, and nothing on screen would show when that run ended.
        wait_idle(page)
        return
    page.get_by_test_id("stSidebar").get_by_role("link", name=title, exact=True).click()
    expect(heading).to_be_visible()
    wait_idle(page)


def prompt_box(page: Page) -> Locator:
    """The Prompt text area."""
    return main(page).get_by_role("textbox", name="Prompt", exact=True)


def type_prompt(page: Page, text: str) -> None:
    """Type a prompt and leave the box, so the app has it (as a person clicking elsewhere does)."""
    box = prompt_box(page)
    box.fill(text)
    box.blur()
    expect(main(page).get_by_text(re.compile(rf"^{len(text):,} / 10,000 characters"))).to_be_visible()
    wait_idle(page)


def pick_aspect_ratio(page: Page, ratio: str) -> None:
    """Choose an aspect ratio preset and wait for the orientation line to follow."""
    main(page).get_by_role("radio", name=ratio, exact=True).click()
    expect(main(page).get_by_text(re.compile(rf"^Output: \w+ \({re.escape(ratio)}\)$"))).to_be_visible()
    wait_idle(page)


def pick_model(page: Page, model: str) -> None:
    """Choose a model in the Model select box.

    A rerun that lands just after the click redraws the box and closes its list before the option can
    be chosen (seen on a loaded machine); a person would simply open it again, and so does this.
    """
    combobox = main(page).get_by_role("combobox", name="Model")
    option = page.get_by_role("option", name=model, exact=True)
    for _ in range(_LIST_ATTEMPTS):
        combobox.click()
        try:
            option.click(timeout=_LIST_OPENS_MS)
            break
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
            wait_idle(page)
    expect(combobox).to_have_value(model)
    wait_idle(page)


def upload(page: Page, region: str, files: list[Path] | Path) -> None:
    """Choose file(s) in the uploader whose drop zone carries this label."""
    drop_zone = main(page).get_by_role("region", name=region, exact=True)
    drop_zone.locator("input[type=file]").set_input_files(files)


def download(page: Page, trigger: Locator, into: Path) -> Path:
    """Click a download button and save the file it gives under its suggested name in `into`."""
    with page.expect_download() as info:
        trigger.click()
    saved = into / info.value.suggested_filename
    info.value.save_as(saved)
    return saved


def expect_shown(page: Page, what: Locator) -> None:
    """Wait until `what` is visible; when it never is, fail with the messages the app showed instead."""
    try:
        expect(what).to_be_visible()
    except AssertionError as missing:
        shown = main(page).get_by_test_id("stAlert").all_inner_texts()
        raise AssertionError(f"{missing}\nThe page showed instead: {shown}") from None


def generate(page: Page, prompt: str) -> Locator:
    """Type a prompt, press Generate, and return the result's caption once it shows that prompt."""
    type_prompt(page, prompt)
    button(page, "Generate").click()
    caption = main(page).get_by_test_id("stCaptionContainer").filter(has_text=prompt[:60]).first
    expect_shown(page, caption)
    wait_idle(page)
    return caption


def history_items(page: Page) -> Locator:
    """The thumbnails of the History grid: counting them counts the items on the page."""
    return main(page).get_by_test_id("stImageContainer")


def history_captions(page: Page) -> Locator:
    """The History thumbnails' captions (number on the page, prompt, kind, model, credits, time)."""
    return main(page).get_by_test_id("stImageCaption")


def history_item(page: Page, number: int) -> Locator:
    """The thumbnail with this number on the History page (1 = first), with its caption."""
    return main(page).locator(f".st-key-history_item_{number - 1}")


def click_thumbnail(page: Page, number: int) -> None:
    """Click in the middle of a History thumbnail's picture, where a person would."""
    box = history_item(page, number).get_by_test_id("stImageContainer").bounding_box()
    assert box is not None, f"thumbnail {number} is not on screen"
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def select_history_item(page: Page, number: int) -> None:
    """Select a History item by clicking its thumbnail; the action bar then acts on it."""
    history_item(page, number).scroll_into_view_if_needed()
    click_thumbnail(page, number)
    expect(history_item(page, number).get_by_test_id("stImageCaption")).to_contain_text("Selected")
    wait_idle(page)
