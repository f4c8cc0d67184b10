"""Use as input in a browser: a History image goes to Generate as an input image, and comes back an edit."""

from __future__ import annotations

import io
import re

from PIL import Image
from playwright.sync_api import expect

from lib.store import HistoryStore
from lib.workspace_links import mint_workspace_id, stored_secret

from . import ui
from .harness import StreamlitServer, assert_no_traceback, open_app

SOURCE_PROMPT = "a red boat on a still lake"
EDIT_PROMPT = "make it night time, moon over the water"


def test_history_use_as_input_then_generate_makes_an_edit(browser, offline_app: StreamlitServer) -> None:
    """History → Use as input → Generate: the image shows as an input, and the result is an edit of it."""
    assert offline_app.data_dir is not None
    workspace = mint_workspace_id(stored_secret(offline_app.data_dir))
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), "#cc3333").save(buffer, "PNG")
    with HistoryStore(offline_app.data_dir) as store:
        source = store.add(workspace, "generation", prompt=SOURCE_PROMPT, image_png=buffer.getvalue(),
                           model="flux-2-pro", aspect_ratio="4:3", credits_used=4)
        source_png = store.image_png(workspace, source.id)

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = open_app(context, offline_app.url, f"history?ws={workspace}")
    expect(ui.history_items(page)).to_have_count(1)
    ui.button(page, "Use as input").click()

    expect(ui.main(page).get_by_role("heading", name="Generate", level=1)).to_be_visible()
    ui.expect_shown(page, ui.main(page).get_by_text(re.compile(r"added to the input images \(1 of 8\)")))
    expect(ui.main(page).get_by_text("1 input image from History (sent with Generate):")).to_be_visible()
    ui.generate(page, EDIT_PROMPT)
    assert_no_traceback(page)
    context.close()

    with HistoryStore(offline_app.data_dir) as store:
        made = store.list(workspace, limit=1)[0]
        assert (made.kind, made.prompt) == ("edit", EDIT_PROMPT)
        assert store.input_images(workspace, made.id) == [source_png]
