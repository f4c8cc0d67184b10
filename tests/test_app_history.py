"""The History page through AppTest: thumbnail grid, filter, pages, and view/download/reuse/delete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lib.history_entry import HistoryEntry
from lib.store import HistoryStore
from lib.ui.history_gallery import PAGE_SIZE, SELECTED_MARK
from tests.app_testing import (
    assert_healthy,
    finish_jobs,
    genuine_workspace_id,
    open_app,
    png_bytes,
    texts,
)

KINDS = ("generation", "edit", "cutout", "enhancement")


@pytest.fixture
def workspace(data_dir: Path) -> str:
    """A workspace with 30 items: generations, edits, cut-outs and enhancements in turn, oldest first."""
    workspace = genuine_workspace_id(data_dir)
    image = png_bytes((192, 108))
    with HistoryStore(data_dir) as store:
        for index in range(30):
            kind = KINDS[index % 4]
            if kind == "enhancement":
                store.add(workspace, kind, prompt=f"prompt {index}", credits_used=0,
                          text=f"prompt {index}, golden hour light")
            else:
                store.add(workspace, kind, prompt=f"prompt {index}", image_png=image, model="flux-2-klein-9b",
                          aspect_ratio="16:9", credits_used=1)
    return workspace


def grid(at) -> list[str]:
    """The captions of the thumbnail grid, in order: one per item on the page."""
    return [image.captions[0] for image in at.get("image")
            if image.captions and re.match(r"\*\*\d+\*\* · ", image.captions[0])]


def shown_prompts(at) -> list[str]:
    """The prompt of each item on screen, in order."""
    return [caption.replace(f" · {SELECTED_MARK}", "").split(" · ")[1] for caption in grid(at)]


def selected_numbers(at) -> list[int]:
    """The numbers of the thumbnails whose caption says they are selected."""
    return [number for number, caption in enumerate(grid(at), start=1) if SELECTED_MARK in caption]


def select(at, position: int):
    """Click the thumbnail at this position on the page (0 = first) and rerun."""
    return at.button(key=f"history_pick_{position}").click().run()


def entry_with_prompt(data_dir: Path, workspace: str, prompt: str) -> HistoryEntry:
    """The stored entry with this prompt."""
    with HistoryStore(data_dir) as store:
        return next(entry for entry in store.list(workspace, limit=100) if entry.prompt == prompt)


def test_newest_first_in_pages(secrets, workspace: str) -> None:
    """Items show newest first, PAGE_SIZE a page, with Previous/Next across all of them."""
    at = open_app(secrets, page="history", workspace=workspace)
    assert_healthy(at)
    assert len(grid(at)) == PAGE_SIZE
    assert shown_prompts(at)[:2] == ["prompt 29", "prompt 28"]
    assert any("Page 1 of 3 · 30 items" in text for text in texts(at))
    assert at.button(key="history_previous").disabled

    at.button(key="history_next").click().run()
    at.button(key="history_next").click().run()
    assert len(grid(at)) == 30 - 2 * PAGE_SIZE
    assert shown_prompts(at)[-1] == "prompt 0"
    assert at.button(key="history_next").disabled
    at.button(key="history_previous").click().run()
    assert shown_prompts(at)[0] == "prompt 17"
    assert at.number_input(key="history_page").value == 2


def test_jump_to_any_page(secrets, workspace: str) -> None:
    """The page number takes a person straight to any page, and the first item there is selected."""
    at = open_app(secrets, page="history", workspace=workspace)
    select(at, 4)
    at.number_input(key="history_page").set_value(3).run()
    assert_healthy(at)
    assert any("Page 3 of 3 · 30 items" in text for text in texts(at))
    assert shown_prompts(at) == [f"prompt {index}" for index in range(5, -1, -1)]
    assert selected_numbers(at) == [1]
    assert at.button(key="history_next").disabled
    at.number_input(key="history_page").set_value(1).run()
    assert shown_prompts(at)[0] == "prompt 29"


def widget_keys(at) -> set[str]:
    """The keys of the History page's buttons and selection controls on screen."""
    widgets = [*at.button, *at.get("download_button"), *at.segmented_control, *at.number_input]
    return {widget.key for widget in widgets if widget.key}


def test_widget_keys_never_hold_entry_ids(secrets, workspace: str, data_dir: Path) -> None:
    """Widgets are keyed by position, so turning pages adds no new widget keys to the session."""
    at = open_app(secrets, page="history", workspace=workspace)
    keys = widget_keys(at)
    at.button(key="history_next").click().run()
    select(at, 3)
    assert widget_keys(at) == keys
    with HistoryStore(data_dir) as store:
        ids = [entry.id for entry in store.list(workspace, limit=100)]
    assert not any(entry_id in key for key in keys for entry_id in ids)


def test_filter_by_kind(secrets, workspace: str) -> None:
    """The kind filter shows only that kind and starts again at page 1."""
    at = open_app(secrets, page="history", workspace=workspace)
    at.button(key="history_next").click().run()
    at.segmented_control(key="history_filter").set_value("Cut-outs").run()
    assert_healthy(at)
    assert len(grid(at)) == 7
    assert all(" · Cut\\-out · " in caption for caption in grid(at))
    assert any("Page 1 of 1 · 7 items" in text for text in texts(at))
    at.segmented_control(key="history_filter").set_value("Enhanced prompts").run()
    assert len(grid(at)) == 7
    assert at.button(key="history_download_none").disabled  # an enhanced prompt has no image
    assert not at.get("download_button") or not any(
        button.key == "history_download" for button in at.get("download_button"))


def test_view_large(secrets, workspace: str) -> None:
    """View large opens the selected item large, with its Download PNG."""
    at = open_app(secrets, page="history", workspace=workspace)
    assert not at.download_button(key="history_download").disabled  # prompt 29: an edit, with its image
    at.button(key="history_view_button").click().run()
    assert_healthy(at)
    assert any(button.label == "Download PNG" for button in at.get("download_button"))


def test_view_large_an_enhancement_shows_both_prompts(secrets, workspace: str) -> None:
    """View large on an enhanced prompt shows the original and the enhanced text."""
    at = open_app(secrets, page="history", workspace=workspace)
    select(at, 2)  # prompt 27: an enhancement
    at.button(key="history_view_button").click().run()
    assert_healthy(at)
    assert "prompt 27, golden hour light" in [code.value for code in at.code]


def test_clicking_a_thumbnail_selects_it_visibly(secrets, workspace: str) -> None:
    """Clicking a thumbnail selects that item: its caption says so, and the action bar describes it."""
    at = open_app(secrets, page="history", workspace=workspace)
    assert selected_numbers(at) == [1]
    select(at, 3)  # prompt 26, the fourth thumbnail
    assert_healthy(at)
    assert selected_numbers(at) == [4]
    assert any(caption.value.startswith("prompt 26") for caption in at.caption)  # the action bar's details
    assert sum(button.key.startswith("history_pick_") for button in at.button) == PAGE_SIZE


def test_cutouts_are_named_after_the_uploaded_file(secrets, data_dir: Path) -> None:
    """A cut-out's thumbnail caption names the file it was made from, not the "remove background" prompt."""
    workspace = genuine_workspace_id(data_dir)
    with HistoryStore(data_dir) as store:
        store.add(workspace, "cutout", prompt="remove background", image_png=png_bytes(mode="RGBA"),
                  credits_used=2, source_name="holiday-photo.jpg")
    at = open_app(secrets, page="history", workspace=workspace)
    [caption] = grid(at)
    assert "holiday\\-photo\\.jpg · Cut\\-out" in caption and "remove background" not in caption


def test_reuse_opens_generate_with_settings(secrets, workspace: str) -> None:
    """Reuse switches to Generate with the item's prompt, model and aspect ratio."""
    at = open_app(secrets, page="history", workspace=workspace)
    select(at, 1)
    at.button(key="history_reuse").click().run()
    assert_healthy(at)
    assert [title.value for title in at.title] == ["Generate"]
    assert at.text_area(key="generate_prompt").value == "prompt 28"
    assert at.selectbox(key="generate_model").value == "flux-2-klein-9b"
    assert at.segmented_control(key="generate_aspect_ratio").value == "16:9"


def test_reuse_an_enhancement_takes_the_enhanced_prompt(secrets, workspace: str) -> None:
    """Reusing an enhanced prompt puts the enhanced text in the Generate prompt."""
    at = open_app(secrets, page="history", workspace=workspace)
    select(at, 2)  # prompt 27: an enhancement
    at.button(key="history_reuse").click().run()
    assert at.text_area(key="generate_prompt").value == "prompt 27, golden hour light"


def test_delete_asks_then_removes(secrets, workspace: str, data_dir: Path) -> None:
    """Delete asks first; Keep cancels; Delete removes the selected item and its image for good."""
    at = open_app(secrets, page="history", workspace=workspace)
    target = entry_with_prompt(data_dir, workspace, "prompt 28")
    select(at, 1)
    at.button(key="history_delete").click().run()
    assert any("Delete this item for good?" in warning.value for warning in at.warning)
    at.button(key="history_delete_no").click().run()
    assert not at.warning
    assert "prompt 28" in shown_prompts(at)

    at.button(key="history_delete").click().run()
    select(at, 0)  # selecting another item withdraws the question
    assert not at.warning
    select(at, 1)
    at.button(key="history_delete").click().run()
    at.button(key="history_delete_yes").click().run()
    assert_healthy(at)
    assert "prompt 28" not in shown_prompts(at)
    assert len(grid(at)) == PAGE_SIZE  # the next older item moved up
    assert any("29 items" in text for text in texts(at))
    with HistoryStore(data_dir) as store:
        assert store.get(workspace, target.id) is None
        assert store.image_png(workspace, target.id) is None


def test_empty_history_says_so(secrets) -> None:
    """A new workspace's History explains that results will appear there."""
    at = open_app(secrets, page="history")
    assert_healthy(at)
    assert any("Nothing here yet" in info.value for info in at.info)
    assert any(button.label == "Download all (zip)" for button in at.get("download_button"))


def test_generated_results_appear_in_history(secrets) -> None:
    """What Generate and Enhance make shows up in History, newest first, with kind and credits."""
    at = open_app(secrets)
    at.text_area(key="generate_prompt").set_value("a tram in the snow")
    finish_jobs(at.button(key="generate_run").click().run())
    at.button(key="generate_enhance").click().run()
    at.switch_page("app_pages/history.py").run()
    assert_healthy(at)
    assert len(grid(at)) == 2
    assert " · Enhanced prompt · " in grid(at)[0]  # the enhancement came last, so it is first
    assert " · Generation · flux\\-2\\-pro · 4 credits · " in grid(at)[1]
    select(at, 1)
    selected = "Generation · flux\\-2\\-pro · 1\\:1 · 1024 × 1024 px square · 4 credits"
    assert any(selected in caption.value for caption in at.caption)


def test_search_shows_only_matching_items_and_their_count(secrets, workspace: str, data_dir: Path) -> None:
    """Typing words in Search shows only items whose prompt or file name has them all, and how many."""
    with HistoryStore(data_dir) as store:
        store.add(workspace, "cutout", prompt="remove background", image_png=png_bytes(mode="RGBA"),
                  credits_used=2, source_name="Beach-Dog.jpg")
    at = open_app(secrets, page="history", workspace=workspace)
    at.button(key="history_next").click().run()
    at.text_input(key="history_search").input("PROMPT 2").run()
    assert_healthy(at)
    # Every word, anywhere in the prompt: "2" also finds "prompt 12" and "prompt 20".
    assert shown_prompts(at) == [*(f"prompt {index}" for index in range(29, 19, -1)), "prompt 12", "prompt 2"]
    assert any("Page 1 of 1 · 12 items" in text for text in texts(at))  # back to page 1 of the matches
    assert selected_numbers(at) == [1]
    at.segmented_control(key="history_filter").set_value("Edits").run()  # combined with the kind
    assert shown_prompts(at) == ["prompt 29", "prompt 25", "prompt 21"]
    at.segmented_control(key="history_filter").set_value("All").run()
    at.text_input(key="history_search").input("dog beach").run()  # a cut-out by its file name
    assert shown_prompts(at) == ["Beach\\-Dog\\.jpg"]
    at.text_input(key="history_search").input('"lighthouse" -NEAR:*').run()
    assert_healthy(at)
    assert not grid(at)
    assert any("Nothing matches" in info.value for info in at.info)
    at.text_input(key="history_search").input("  ").run()
    assert any("Page 1 of 3 · 31 items" in text for text in texts(at))


def test_use_as_input_and_remove_background_need_an_image(secrets, workspace: str) -> None:
    """An enhanced prompt has no image: Use as input and Remove background are off; an image's are on."""
    at = open_app(secrets, page="history", workspace=workspace)
    select(at, 2)  # prompt 27: an enhancement
    assert at.button(key="history_use_as_input").disabled
    assert at.button(key="history_remove_background").disabled
    select(at, 1)  # prompt 28: a generation
    assert not at.button(key="history_use_as_input").disabled
    at.button(key="history_remove_background").click().run()
    assert_healthy(at)
    assert [title.value for title in at.title] == ["Remove background"]
