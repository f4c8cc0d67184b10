"""A workspace link made before links were signed still brings its history back, once, at a new address."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from lib.history_entry import new_workspace_id
from lib.store import HistoryStore
from tests.app_testing import APP, PAGES, RUN_TIMEOUT_S, assert_healthy, is_genuine, png_bytes, workspace_of


def captions(at: AppTest) -> list[str]:
    """Every image caption on screen (the History grid captions each item with its prompt)."""
    return [caption for image in at.get("image") for caption in image.captions]


def open_history(secrets: dict[str, str], link: str) -> tuple[AppTest, list[str]]:
    """Open /?ws=<link> as a new browser tab, then the History page; also what the first run toasted."""
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.secrets.update(secrets)
    at.query_params["ws"] = link
    at.run()
    toasts = [str(toast.value) for toast in at.toast]
    at.switch_page(PAGES["history"]).run()
    return at, toasts


def test_an_old_link_shows_its_history_under_a_new_signed_address(secrets, data_dir: Path) -> None:
    """The old link's item is in History at a new genuine id in the address; a toast says: bookmark it."""
    legacy = new_workspace_id()  # how workspace ids were made before they were signed
    with HistoryStore(data_dir) as store:
        store.add(legacy, "generation", prompt="a lighthouse before signing", image_png=png_bytes(),
                  model="flux-2-klein-9b", aspect_ratio="16:9", credits_used=1)

    at, toasts = open_history(secrets, legacy)
    assert_healthy(at)
    address = workspace_of(at)
    assert address != legacy and is_genuine(address, data_dir)
    assert any("a lighthouse before signing" in caption for caption in captions(at))
    assert len(toasts) == 1 and "Bookmark" in toasts[0]
    assert not at.toast  # said once, not on every run

    again, toasts_again = open_history(secrets, legacy)  # the old link opened a second time
    assert_healthy(again)
    assert workspace_of(again) not in (legacy, address) and toasts_again == []
    assert not any("a lighthouse before signing" in caption for caption in captions(again))
