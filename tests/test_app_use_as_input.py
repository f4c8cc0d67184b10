"""Use as input through AppTest: a result goes to Generate as an input image, or to Remove background."""

from __future__ import annotations

from pathlib import Path

from lib.history_entry import HistoryEntry
from lib.store import HistoryStore
from tests.app_testing import (
    PAGES,
    assert_healthy,
    finish_jobs,
    genuine_workspace_id,
    open_app,
    png_bytes,
    texts,
    workspace_of,
)


def newest(data_dir: Path, workspace: str) -> HistoryEntry:
    """The newest entry of the workspace's History."""
    with HistoryStore(data_dir) as store:
        return store.list(workspace, limit=1)[0]


def add_generation(data_dir: Path, workspace: str, prompt: str, colour: str = "#3366cc") -> bytes:
    """Put a generated image in History and return the PNG History keeps of it."""
    with HistoryStore(data_dir) as store:
        entry = store.add(workspace, "generation", prompt=prompt, image_png=png_bytes((256, 192), colour),
                          model="flux-2-pro", aspect_ratio="4:3", credits_used=4)
        return store.image_png(workspace, entry.id) or b""


def follow(at, page: str):
    """AppTest keeps running the page it last switched to: follow the app's own switch to this page."""
    return at.switch_page(PAGES[page]).run()


def test_history_image_goes_to_generate_and_is_sent_as_an_input(secrets, data_dir: Path) -> None:
    """Use as input in History opens Generate with the image carried; Generate sends it and saves an edit."""
    workspace = genuine_workspace_id(data_dir)
    image = add_generation(data_dir, workspace, "a red boat on a lake")
    at = open_app(secrets, page="history", workspace=workspace)
    at.button(key="history_use_as_input").click().run()
    assert_healthy(at)
    assert [title.value for title in at.title] == ["Generate"]
    assert any("added to the input images (1 of 8)" in success.value for success in at.success)
    follow(at, "generate")
    assert any("1 input image from History" in caption.value for caption in at.caption)

    at.text_area(key="generate_prompt").set_value("make it night time")
    finish_jobs(at.button(key="generate_run").click().run())
    assert_healthy(at)
    made = newest(data_dir, workspace_of(at))
    assert (made.kind, made.prompt) == ("edit", "make it night time")
    with HistoryStore(data_dir) as store:
        assert store.input_images(workspace, made.id) == [image]


def test_use_as_input_adds_to_what_is_carried(secrets, data_dir: Path) -> None:
    """Two History images used one after the other are both sent, in that order, with one Generate."""
    workspace = genuine_workspace_id(data_dir)
    first = add_generation(data_dir, workspace, "a blue kite", "#2244aa")
    second = add_generation(data_dir, workspace, "a green field", "#22aa44")
    at = open_app(secrets, page="history", workspace=workspace)
    at.button(key="history_use_as_input").click().run()  # the newest: the green field
    follow(at, "history")
    at.button(key="history_pick_1").click().run()
    at.button(key="history_use_as_input").click().run()
    follow(at, "generate")
    assert any("2 input images from History" in caption.value for caption in at.caption)
    at.text_area(key="generate_prompt").set_value("put the kite over the field")
    finish_jobs(at.button(key="generate_run").click().run())
    assert_healthy(at)
    made = newest(data_dir, workspace)
    with HistoryStore(data_dir) as store:
        assert store.input_images(workspace, made.id) == [second, first]


def test_generate_result_used_as_input_stays_on_generate(secrets, data_dir: Path) -> None:
    """Use as input on a Generate result carries it into the form; the next Generate makes an edit of it."""
    at = open_app(secrets)
    at.text_area(key="generate_prompt").set_value("a lighthouse at dusk")
    finish_jobs(at.button(key="generate_run").click().run())
    generated = newest(data_dir, workspace_of(at))
    at.button(key="generate_result_0_use_as_input").click().run()
    assert_healthy(at)
    assert any("1 input image from History" in caption.value for caption in at.caption)
    at.button(key="generate_result_0_use_as_input").click().run()  # the same image again: said, not added
    assert any("already an input image" in warning.value for warning in at.warning)
    assert any("1 input image from History" in caption.value for caption in at.caption)

    at.text_area(key="generate_prompt").set_value("the same lighthouse in snow")
    finish_jobs(at.button(key="generate_run").click().run())
    made = newest(data_dir, workspace_of(at))
    assert made.kind == "edit"
    with HistoryStore(data_dir) as store:
        assert store.input_images(made.workspace_id, made.id) == [
            store.image_png(generated.workspace_id, generated.id)]


def test_full_input_images_are_said_plainly_and_nothing_is_added(secrets, data_dir: Path) -> None:
    """With klein's 4 input images carried, a fifth Use as input says they are full and adds nothing."""
    workspace = genuine_workspace_id(data_dir)
    for index in range(5):
        add_generation(data_dir, workspace, f"picture {index}", f"#{index}0{index}0{index}0")
    at = open_app(secrets, workspace=workspace)
    at.selectbox(key="generate_model").set_value("flux-2-klein-9b").run()
    at.switch_page(PAGES["history"]).run()
    for position in range(4):
        at.button(key=f"history_pick_{position}").click().run()
        at.button(key="history_use_as_input").click().run()
        follow(at, "history")
    at.button(key="history_pick_4").click().run()
    at.button(key="history_use_as_input").click().run()
    assert_healthy(at)
    assert [title.value for title in at.title] == ["History"]  # stays, saying why
    assert any("input images are full: flux\\-2\\-klein\\-9b takes at most 4" in warning.value
               for warning in at.warning)
    follow(at, "generate")
    assert any("4 input images from History" in caption.value for caption in at.caption)


def test_generate_result_goes_to_remove_background_and_is_cut_out(secrets, data_dir: Path) -> None:
    """Remove background on a Generate result offers it there "from History"; the click saves a cut-out."""
    at = open_app(secrets)
    at.text_area(key="generate_prompt").set_value("a yellow taxi / city street")
    finish_jobs(at.button(key="generate_run").click().run())
    generated = newest(data_dir, workspace_of(at))
    at.button(key="generate_result_0_remove_background").click().run()
    assert_healthy(at)
    assert [title.value for title in at.title] == ["Remove background"]
    follow(at, "remove_background")
    assert any("From History:" in text and "yellow taxi" in text for text in texts(at))
    assert not at.button(key="remove_background_run").disabled

    at.button(key="remove_background_run").click().run()
    assert_healthy(at)
    cutout = newest(data_dir, workspace_of(at))
    assert (cutout.kind, cutout.credits_used) == ("cutout", 2)
    assert cutout.source_name == "a yellow taxi city street"  # the item's title, its slash not a folder
    with HistoryStore(data_dir) as store:
        assert store.input_images(cutout.workspace_id, cutout.id) == [
            store.image_png(generated.workspace_id, generated.id)]
    assert any(subheader.value == "After" for subheader in at.subheader)


def test_the_offered_photo_can_be_dropped(secrets, data_dir: Path) -> None:
    """Drop takes the History image away: Remove background is back to asking for an upload."""
    workspace = genuine_workspace_id(data_dir)
    add_generation(data_dir, workspace, "a quiet harbour")
    at = open_app(secrets, page="history", workspace=workspace)
    at.button(key="history_remove_background").click().run()
    follow(at, "remove_background")
    at.button(key="remove_background_drop_history").click().run()
    assert_healthy(at)
    assert not any("From History:" in text for text in texts(at))
    assert at.button(key="remove_background_run").disabled
