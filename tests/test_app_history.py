"""The History page through AppTest: gallery, filter, pages, view, reuse, delete, download all."""

from __future__ import annotations

from pathlib import Path

import pytest

from lib.store import HistoryStore, new_workspace_id
from lib.ui_history import PAGE_SIZE
from tests.app_testing import (
    assert_healthy,
    open_app,
    png_bytes,
    texts,
)

KINDS = ("generation", "edit", "cutout", "enhancement")


@pytest.fixture
def workspace(data_dir: Path) -> str:
    """A workspace with 30 items: generations, edits, cut-outs and enhancements in turn, oldest first."""
    workspace = new_workspace_id()
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


def items(at) -> list[str]:
    """Entry ids of the items on screen, in order (one Reuse button per item)."""
    return [button.key.removeprefix("history_reuse_") for button in at.button if button.label == "Reuse"]


def shown_prompts(at) -> list[str]:
    """The first caption line of each item on screen."""
    return [text.split("  \n")[0] for text in texts(at) if text.startswith("prompt ")]


def test_newest_first_in_pages(secrets, workspace: str) -> None:
    """Items show newest first, PAGE_SIZE a page, with Previous/Next across all of them."""
    at = open_app(secrets, page="history", workspace=workspace)
    assert_healthy(at)
    assert len(items(at)) == PAGE_SIZE
    assert shown_prompts(at)[:2] == ["prompt 29", "prompt 28"]
    assert any("Page 1 of 3 · 30 items" in text for text in texts(at))
    assert at.button(key="history_previous").disabled

    at.button(key="history_next").click().run()
    at.button(key="history_next").click().run()
    assert len(items(at)) == 30 - 2 * PAGE_SIZE
    assert shown_prompts(at)[-1] == "prompt 0"
    assert at.button(key="history_next").disabled


def test_filter_by_kind(secrets, workspace: str) -> None:
    """The kind filter shows only that kind and starts again at page 1."""
    at = open_app(secrets, page="history", workspace=workspace)
    at.button(key="history_next").click().run()
    at.segmented_control(key="history_filter").set_value("Cut-outs").run()
    assert_healthy(at)
    assert len(items(at)) == 7
    assert any("Page 1 of 1 · 7 items" in text for text in texts(at))
    at.segmented_control(key="history_filter").set_value("Enhanced prompts").run()
    assert len(items(at)) == 7
    assert not any(button.label == "Download" for button in at.get("download_button"))


def test_view_large_and_download(secrets, workspace: str) -> None:
    """View opens the item large with its Download PNG; every image item has a Download button."""
    at = open_app(secrets, page="history", workspace=workspace)
    downloads = [button.key for button in at.get("download_button") if button.label == "Download"]
    assert len(downloads) == 9  # 12 on the page, 3 of them enhancements (no image)
    newest = items(at)[0]  # prompt 29: an edit, with its image
    at.button(key=f"history_view_button_{newest}").click().run()
    assert_healthy(at)
    assert any(button.label == "Download PNG" for button in at.get("download_button"))


def test_reuse_opens_generate_with_settings(secrets, workspace: str) -> None:
    """Reuse switches to Generate with the item's prompt, model and aspect ratio."""
    at = open_app(secrets, page="history", workspace=workspace)
    at.button(key=f"history_reuse_{items(at)[1]}").click().run()
    assert_healthy(at)
    assert [title.value for title in at.title] == ["Generate"]
    assert at.text_area(key="generate_prompt").value == "prompt 28"
    assert at.selectbox(key="generate_model").value == "flux-2-klein-9b"
    assert at.segmented_control(key="generate_aspect_ratio").value == "16:9"


def test_reuse_an_enhancement_takes_the_enhanced_prompt(secrets, workspace: str) -> None:
    """Reusing an enhanced prompt puts the enhanced text in the Generate prompt."""
    at = open_app(secrets, page="history", workspace=workspace)
    at.button(key=f"history_reuse_{items(at)[2]}").click().run()  # prompt 27: an enhancement
    assert at.text_area(key="generate_prompt").value == "prompt 27, golden hour light"


def test_delete_asks_then_removes(secrets, workspace: str, data_dir: Path) -> None:
    """Delete asks first; Keep cancels; Delete removes the item and its image for good."""
    at = open_app(secrets, page="history", workspace=workspace)
    target = items(at)[1]
    at.button(key=f"history_delete_{target}").click().run()
    assert any("Delete this item for good?" in warning.value for warning in at.warning)
    at.button(key=f"history_delete_no_{target}").click().run()
    assert target in items(at)

    at.button(key=f"history_delete_{target}").click().run()
    at.button(key=f"history_delete_yes_{target}").click().run()
    assert_healthy(at)
    assert target not in items(at)
    assert any("29 items" in text for text in texts(at))
    with HistoryStore(data_dir) as store:
        assert store.get(workspace, target) is None
        assert store.image_png(workspace, target) is None


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
    at.button(key="generate_run").click().run()
    at.button(key="generate_enhance").click().run()
    at.switch_page("app_pages/history.py").run()
    assert_healthy(at)
    assert len(items(at)) == 2
    captions = [text for text in texts(at) if "tram" in text]
    assert "Enhanced prompt" in captions[0] or "Enhanced prompt" in captions[1]
    generation = "Generation · flux\\-2\\-pro · 1\\:1 · 1024 × 1024 px square"
    assert any(generation in text and "4 credits" in text for text in captions)
