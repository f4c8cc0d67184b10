"""The Generate page through AppTest, against a real Local Studio (and a fault server to count requests)."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from lib.config import API_KEY_NAME, DATA_DIR_NAME, ENDPOINT_NAME
from lib.contract import MAX_PROMPT_CHARS
from lib.jobs import INTERRUPTED, JOBS_FILE, THIS_PROCESS, ProcessIdentity, SqliteJobStore
from lib.png_metadata import embed_settings, read_settings
from lib.store import HistoryStore
from tests.app_testing import (
    assert_healthy,
    errors,
    finish_jobs,
    open_app,
    png_bytes,
    studio_secrets,
    texts,
    workspace_of,
)
from tests.fault_server import FaultServer

PROMPT = "a lighthouse on a cliff at dusk"


@pytest.fixture
def counting_secrets(fault_server: FaultServer, data_dir: Path) -> dict[str, str]:
    """Secrets pointing the app at the fault server's always-OK endpoint."""
    fault_server.reset()
    return {API_KEY_NAME: "sk_test_counting", ENDPOINT_NAME: fault_server.endpoint("ok"),
            DATA_DIR_NAME: str(data_dir)}


def history(data_dir: Path, workspace: str):
    """The workspace's history as the store has it on disk."""
    with HistoryStore(data_dir) as store:
        return store.list(workspace, limit=100)


def test_generate_shows_result_and_lands_in_history(secrets, data_dir: Path) -> None:
    """Generate at 16:9 on klein: result, Download PNG, caption; the PNG in history holds the prompt."""
    at = open_app(secrets)
    at.text_area(key="generate_prompt").set_value(PROMPT)
    at.selectbox(key="generate_model").set_value("flux-2-klein-9b")
    at.segmented_control(key="generate_aspect_ratio").set_value("16:9")
    finish_jobs(at.button(key="generate_run").click().run())

    assert_healthy(at)
    assert not errors(at)
    assert any(PROMPT in text and "flux-2-klein-9b" in text for text in texts(at))
    assert at.text_area(key="generate_prompt").value == PROMPT  # the form keeps its values
    assert any(button.label == "Download PNG" for button in at.get("download_button"))
    [entry] = history(data_dir, workspace_of(at))
    assert (entry.kind, entry.model, entry.aspect_ratio) == ("generation", "flux-2-klein-9b", "16:9")
    assert entry.width > entry.height
    with HistoryStore(data_dir) as store:
        settings = read_settings(store.image_png(entry.workspace_id, entry.id))
    assert settings["prompt"] == PROMPT and settings["aspect_ratio"] == "16:9"
    assert any("Credits used this session: **" in text for text in texts(at))


def test_compare_models_shows_both_and_keeps_both(secrets, data_dir: Path) -> None:
    """Compare models runs both models side by side, each downloadable, both in history."""
    at = open_app(secrets)
    at.text_area(key="generate_prompt").set_value(PROMPT)
    at.toggle(key="generate_compare").set_value(True).run()
    assert at.button(key="generate_run").label == "Generate with both models"
    finish_jobs(at.button(key="generate_run").click().run())

    assert_healthy(at)
    assert [header.value for header in at.main.subheader] == ["flux-2-pro", "flux-2-klein-9b"]
    assert sum(button.label == "Download PNG" for button in at.get("download_button")) == 2
    assert sorted(entry.model for entry in history(data_dir, workspace_of(at))) == ["flux-2-klein-9b",
                                                                                      "flux-2-pro"]


def test_enhance_rewrites_prompt_in_place_and_goes_back(secrets, data_dir: Path) -> None:
    """Enhance puts a longer prompt in the box; Back to my prompt restores the typed one."""
    at = open_app(secrets)
    at.text_area(key="generate_prompt").set_value("a dog on a beach")
    at.button(key="generate_enhance").click().run()

    assert_healthy(at)
    enhanced = at.text_area(key="generate_prompt").value
    assert "dog" in enhanced and len(enhanced) > len("a dog on a beach")
    [entry] = history(data_dir, workspace_of(at))
    assert entry.kind == "enhancement" and entry.text == enhanced

    at.button(key="generate_undo_enhance").click().run()
    assert at.text_area(key="generate_prompt").value == "a dog on a beach"
    assert not any(button.key == "generate_undo_enhance" for button in at.button)


@pytest.mark.parametrize(
    ("prompt", "says"),
    [("", "Write a prompt first."), ("   \n ", "Write a prompt first."),
     ("x" * (MAX_PROMPT_CHARS + 1), "the limit is 10,000")],
    ids=["empty", "whitespace", "10001-chars"],
)
def test_unusable_prompt_is_explained_and_nothing_sent(counting_secrets, fault_server, prompt, says) -> None:
    """Empty, blank or 10,001-character prompts: Generate and Enhance explain, and no request leaves."""
    at = open_app(counting_secrets)
    at.text_area(key="generate_prompt").set_value(prompt)
    finish_jobs(at.button(key="generate_run").click().run())
    assert any(says in warning.value for warning in at.warning)
    at.button(key="generate_enhance").click().run()
    assert any(says in warning.value for warning in at.warning)
    assert_healthy(at)
    assert fault_server.posts() == []
    if len(prompt) > MAX_PROMPT_CHARS:
        assert any("10,001 / 10,000 characters — too long" in text for text in texts(at))


def test_prompt_of_exactly_the_limit_is_sent_intact(counting_secrets, fault_server) -> None:
    """A 10,000-character prompt with non-Latin text and emoji is sent, unchanged."""
    prompt = ("東京の夜景 🌃 ночной город " * 1000)[:MAX_PROMPT_CHARS]
    at = open_app(counting_secrets)
    at.text_area(key="generate_prompt").set_value(prompt)
    finish_jobs(at.button(key="generate_run").click().run())
    assert_healthy(at)
    assert not errors(at)
    [post] = fault_server.posts()
    assert post.json()["prompt"] == prompt


def test_input_image_makes_an_edit(secrets, data_dir: Path, samples_dir: Path) -> None:
    """An uploaded photo shows as a thumbnail and turns the generation into an edit."""
    at = open_app(secrets)
    photo = (samples_dir / "coffee.jpg").read_bytes()
    at.file_uploader(key="generate_inputs").set_value([("coffee.jpg", photo, "image/jpeg")]).run()
    assert_healthy(at)
    assert not errors(at)
    at.text_area(key="generate_prompt").set_value("make it black and white")
    finish_jobs(at.button(key="generate_run").click().run())
    assert_healthy(at)
    assert not errors(at)
    [entry] = history(data_dir, workspace_of(at))
    assert entry.kind == "edit"


def test_background_removal_prompt_is_announced_and_routed(secrets, data_dir: Path,
                                                            samples_dir: Path) -> None:
    """With an image attached, "remove the background" says 2 credits before the click, then cuts out."""
    at = open_app(secrets)
    photo = (samples_dir / "chelsea.jpg").read_bytes()
    at.file_uploader(key="generate_inputs").set_value([("chelsea.jpg", photo, "image/jpeg")])
    at.text_area(key="generate_prompt").set_value("remove the background").run()
    assert any("background removal (2 credits)" in info.value for info in at.info)
    finish_jobs(at.button(key="generate_run").click().run())
    assert_healthy(at)
    [entry] = history(data_dir, workspace_of(at))
    assert (entry.kind, entry.credits_used) == ("cutout", 2)


def _png_bomb() -> bytes:
    """A tiny PNG whose header declares 100,000 x 100,000 pixels."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + bytes(64)


def _truncated_jpeg(samples_dir: Path) -> bytes:
    data = (samples_dir / "camera.jpg").read_bytes()
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("name", "make", "says"),
    [
        ("notes.png", lambda _: b"just some text, not a picture\n" * 10, "notes.png is not an image"),
        ("empty.png", lambda _: b"", "empty.png is empty"),
        ("cut.jpg", _truncated_jpeg, "cut.jpg is damaged"),
        ("tiny.png", lambda _: png_bytes((40, 40)), "tiny.png is too small"),
        ("bomb.png", lambda _: _png_bomb(), "bomb.png"),
    ],
    ids=["text-as-png", "zero-bytes", "truncated-jpeg", "40px", "png-bomb"],
)
def test_bad_upload_is_named_and_nothing_sent(counting_secrets, fault_server, samples_dir, name, make,
                                             says) -> None:
    """A bad upload gets a message naming the file; Generate then refuses and sends nothing."""
    at = open_app(counting_secrets)
    at.file_uploader(key="generate_inputs").set_value([(name, make(samples_dir), "image/png")]).run()
    assert any(says in message for message in errors(at))
    at.text_area(key="generate_prompt").set_value(PROMPT)
    finish_jobs(at.button(key="generate_run").click().run())
    assert any("not usable images" in warning.value for warning in at.warning)
    assert_healthy(at)
    assert fault_server.posts() == []


def test_too_many_input_images_for_the_model(counting_secrets, fault_server) -> None:
    """klein takes 4 input images: a fifth is explained before and at the click, and nothing is sent."""
    at = open_app(counting_secrets)
    at.selectbox(key="generate_model").set_value("flux-2-klein-9b")
    files = [(f"image{index}.png", png_bytes((96, 96), colour=f"#{index}0{index}0{index}0"), "image/png")
             for index in range(5)]
    at.file_uploader(key="generate_inputs").set_value(files)
    at.text_area(key="generate_prompt").set_value(PROMPT).run()
    assert any("at most 4 input images" in warning.value for warning in at.warning)
    finish_jobs(at.button(key="generate_run").click().run())
    assert any("the limit is 4" in warning.value for warning in at.warning)
    assert fault_server.posts() == []


def test_restore_settings_from_png_fills_the_form(secrets) -> None:
    """A PNG carrying our settings fills prompt, model and aspect ratio; a plain PNG is explained."""
    at = open_app(secrets)
    settings = {"prompt": "a red bicycle in the rain", "model": "flux-2-klein-9b", "aspect_ratio": "9:16",
                "kind": "generation"}
    at.file_uploader(key="generate_restore_file").set_value(
        ("bicycle.png", embed_settings(png_bytes(), settings), "image/png")).run()
    assert_healthy(at)
    assert at.text_area(key="generate_prompt").value == "a red bicycle in the rain"
    assert at.selectbox(key="generate_model").value == "flux-2-klein-9b"
    assert at.segmented_control(key="generate_aspect_ratio").value == "9:16"
    assert any(success.value.startswith("Settings restored from bicycle.png.") for success in at.success)

    at.file_uploader(key="generate_restore_file").set_value(("plain.png", png_bytes(), "image/png")).run()
    assert any("plain.png carries no Image Studio settings" in warning.value for warning in at.warning)
    assert at.text_area(key="generate_prompt").value == "a red bicycle in the rain"


def test_form_survives_leaving_the_page(secrets) -> None:
    """Prompt, model and ratio are still there after a visit to another page."""
    at = open_app(secrets)
    at.text_area(key="generate_prompt").set_value(PROMPT)
    at.selectbox(key="generate_model").set_value("flux-2-klein-9b")
    at.segmented_control(key="generate_aspect_ratio").set_value("3:2").run()
    at.switch_page("app_pages/history.py").run()
    at.switch_page("app_pages/generate.py").run()
    assert at.text_area(key="generate_prompt").value == PROMPT
    assert at.selectbox(key="generate_model").value == "flux-2-klein-9b"
    assert at.segmented_control(key="generate_aspect_ratio").value == "3:2"


def test_session_state_holds_ids_not_images(secrets) -> None:
    """After several results, session state holds no image bytes beyond small thumbnails."""
    at = open_app(secrets)
    photo = png_bytes((900, 700))
    at.file_uploader(key="generate_inputs").set_value([("photo.png", photo, "image/png")])
    at.text_area(key="generate_prompt").set_value(PROMPT)
    for _ in range(3):
        finish_jobs(at.button(key="generate_run").click().run())
    assert_healthy(at)

    def size(value: object) -> int:
        if isinstance(value, bytes | bytearray):
            return len(value)
        if isinstance(value, dict):
            return sum(size(item) for item in value.values())
        if isinstance(value, list | tuple):
            return sum(size(item) for item in value)
        return 0

    held = sum(size(value) for key, value in at.session_state.items() if key != "generate_inputs")
    assert held < 64 * 1024
    with Image.open(io.BytesIO(photo)) as image:
        assert image.size == (900, 700)


def test_enhance_twice_then_back_returns_the_typed_prompt(secrets) -> None:
    """Enhance, Enhance again: Back to my prompt gives the words typed before the first Enhance."""
    at = open_app(secrets)
    at.text_area(key="generate_prompt").set_value("a dog on a beach")
    at.button(key="generate_enhance").click().run()
    once = at.text_area(key="generate_prompt").value
    at.button(key="generate_enhance").click().run()
    assert_healthy(at)
    assert at.text_area(key="generate_prompt").value != "a dog on a beach"

    at.button(key="generate_undo_enhance").click().run()
    assert at.text_area(key="generate_prompt").value == "a dog on a beach", once
    assert not any(button.key == "generate_undo_enhance" for button in at.button)


def _cost_beside_generate(at) -> list[str]:
    """The texts drawn in the same row as the Generate button."""
    blocks = [at.main]
    while blocks:
        children = list(getattr(blocks.pop(), "children", {}).values())
        if any(getattr(child, "key", None) == "generate_run" for child in children):
            return [str(child.value) for child in children if child.type == "markdown"]
        blocks.extend(children)
    return []


def test_each_spending_button_says_what_the_click_costs(secrets, samples_dir: Path) -> None:
    """Beside Generate: 4 credits (pro), 1 credit (klein), 5 credits (compare), 2 (background removal)."""
    at = open_app(secrets)
    assert _cost_beside_generate(at) == ["**4 credits**"]
    assert any("Ctrl+Enter generates (4 credits)" in caption.value for caption in at.caption)
    at.selectbox(key="generate_model").set_value("flux-2-klein-9b").run()
    assert _cost_beside_generate(at) == ["**1 credit**"]
    at.toggle(key="generate_compare").set_value(True).run()
    assert _cost_beside_generate(at) == ["**5 credits**"]
    photo = (samples_dir / "chelsea.jpg").read_bytes()
    at.file_uploader(key="generate_inputs").set_value([("chelsea.jpg", photo, "image/jpeg")])
    at.text_area(key="generate_prompt").set_value("remove the background").run()
    assert _cost_beside_generate(at) == ["**2 credits**"]
    assert_healthy(at)


def test_too_few_credits_are_said_before_the_click(fresh_local_studio, data_dir: Path) -> None:
    """After the server reports 1 credit left, Generate with flux-2-pro (4) warns before the click."""
    studio = fresh_local_studio(starting_credits=5)
    at = open_app(studio_secrets(studio, data_dir))
    at.text_area(key="generate_prompt").set_value(PROMPT)
    assert not at.warning
    finish_jobs(at.button(key="generate_run").click().run())  # 4 of 5 spent: the answer says 1 is left
    assert_healthy(at)
    assert any("This costs 4 credits, and only 1 credit is left" in warning.value for warning in at.warning)
    at.selectbox(key="generate_model").set_value("flux-2-klein-9b").run()
    assert not any("only 1 credit" in warning.value for warning in at.warning)


def _form_order(at) -> list[str]:
    """The form column's widgets and messages in screen order: widget keys, and "error: …" for errors."""
    order: list[str] = []

    def walk(node) -> None:
        if node.type == "error":
            order.append(f"error: {node.value}")
        elif getattr(node, "key", None):
            order.append(node.key)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main.columns[0])
    return order


def test_errors_show_under_their_button_and_a_later_click_clears_them(counting_secrets,
                                                                      fault_server) -> None:
    """Generate's error shows under Generate, Enhance's under Enhance; a good Enhance clears both."""
    secrets = {**counting_secrets, ENDPOINT_NAME: fault_server.switchable_endpoint}
    fault_server.mode = "500"
    at = open_app(secrets)
    at.text_area(key="generate_prompt").set_value(PROMPT)
    finish_jobs(at.button(key="generate_run").click().run())
    order = _form_order(at)
    [error] = [item for item in order if item.startswith("error: ")]
    assert "HTTP 500" in error
    assert order.index("generate_run") < order.index(error) < order.index("generate_model"), order

    at.button(key="generate_enhance").click().run()
    order = _form_order(at)
    [error] = [item for item in order if item.startswith("error: ")]  # the Generate one is gone
    assert order.index("generate_enhance") < order.index(error) < order.index("generate_run"), order

    fault_server.mode = "ok"
    at.button(key="generate_enhance").click().run()
    assert_healthy(at)
    assert errors(at) == []
    assert at.text_area(key="generate_prompt").value == "a detailed prompt"
    fault_server.mode = "ok"


def _edit_then_reuse(at, photo: bytes) -> None:
    """Make an edit of one photo, then Reuse it from History."""
    at.file_uploader(key="generate_inputs").set_value([("coffee.jpg", photo, "image/jpeg")])
    at.text_area(key="generate_prompt").set_value("make it black and white")
    finish_jobs(at.button(key="generate_run").click().run())
    at.file_uploader(key="generate_inputs").set_value([]).run()
    at.switch_page("app_pages/history.py").run()
    at.button(key="history_reuse").click().run()
    assert_healthy(at)
    assert [title.value for title in at.title] == ["Generate"]
    assert any("1 input image will be sent with Generate" in success.value for success in at.success)
    # AppTest keeps running the page it last switched to: follow the app's own switch to Generate.
    at.switch_page("app_pages/generate.py").run()


def test_reusing_an_edit_brings_its_input_images_back(secrets, data_dir: Path, samples_dir: Path) -> None:
    """Reuse of an edit shows its input image in Generate, and the next Generate sends it again."""
    at = open_app(secrets)
    photo = (samples_dir / "coffee.jpg").read_bytes()
    _edit_then_reuse(at, photo)
    assert any("1 input image from History" in caption.value for caption in at.caption)
    finish_jobs(at.button(key="generate_run").click().run())

    assert_healthy(at)
    newest, first = history(data_dir, workspace_of(at))
    assert (newest.kind, newest.prompt) == ("edit", "make it black and white")
    with HistoryStore(data_dir) as store:
        assert store.input_images(newest.workspace_id, newest.id) == [photo]
        assert store.input_images(first.workspace_id, first.id) == [photo]


def test_a_carried_input_image_can_be_removed(secrets, data_dir: Path, samples_dir: Path) -> None:
    """Removing the carried-over input image makes the next Generate a text-to-image generation."""
    at = open_app(secrets)
    _edit_then_reuse(at, (samples_dir / "coffee.jpg").read_bytes())
    at.button(key="generate_carried_remove_0").click().run()
    assert not any("from History" in caption.value for caption in at.caption)
    finish_jobs(at.button(key="generate_run").click().run())
    assert_healthy(at)
    newest, _first = history(data_dir, workspace_of(at))
    assert newest.kind == "generation"


def test_restored_png_says_its_input_images_are_not_inside(secrets) -> None:
    """Restoring an edit's PNG fills the form and says its input images did not come with it."""
    at = open_app(secrets)
    settings = {"prompt": "make it sepia", "model": "flux-2-pro", "aspect_ratio": "1:1", "kind": "edit"}
    at.file_uploader(key="generate_restore_file").set_value(
        ("edit.png", embed_settings(png_bytes(), settings), "image/png")).run()
    assert_healthy(at)
    assert at.text_area(key="generate_prompt").value == "make it sepia"
    assert any("not its input images" in warning.value for warning in at.warning)


def test_four_images_cost_the_total_and_all_land_in_history(secrets, data_dir: Path) -> None:
    """Images = 4 on flux-2-pro says 16 credits before the click; four results, each kept in History."""
    at = open_app(secrets)
    at.text_area(key="generate_prompt").set_value(PROMPT)
    at.segmented_control(key="generate_images").set_value(4).run()
    assert at.button(key="generate_run").label == "Generate 4 images"
    assert "**16 credits**" in texts(at)
    finish_jobs(at.button(key="generate_run").click().run())

    assert_healthy(at)
    assert not errors(at)
    assert sum(button.label == "Download PNG" for button in at.get("download_button")) == 4
    kept = history(data_dir, workspace_of(at))
    assert len(kept) == 4 and {entry.model for entry in kept} == {"flux-2-pro"}


def test_one_failed_image_of_four_shows_in_its_slot_and_keeps_the_others(data_dir: Path) -> None:
    """One of four calls failing: its error stands in its slot, the other three show and are in History."""
    with FaultServer(slow_seconds=0.2) as server:
        at = open_app({API_KEY_NAME: "sk_test_batch", DATA_DIR_NAME: str(data_dir),
                       ENDPOINT_NAME: server.endpoint("slow-every-fourth-fails")})
        at.text_area(key="generate_prompt").set_value(PROMPT)
        at.segmented_control(key="generate_images").set_value(4)
        finish_jobs(at.button(key="generate_run").click().run())

    assert_healthy(at)
    [message] = errors(at)
    assert "HTTP 500" in message
    assert sum(button.label == "Download PNG" for button in at.get("download_button")) == 3
    assert len(history(data_dir, workspace_of(at))) == 3
    # Among the images, not under the button.
    [form_column] = [column for column in at.main.columns if column.text_area]
    [results_column] = [column for column in at.main.columns if len(column.get("download_button")) == 3]
    assert len(results_column.error) == 1 and not form_column.error


def _panel_lines(at) -> list[str]:
    """What the In progress panel says, one string per job."""
    starts = ("**Running**", "**Waiting", ":material/warning: **Interrupted")
    return [str(markdown.value) for markdown in at.markdown if str(markdown.value).startswith(starts)]


def test_generate_returns_at_once_and_the_panel_follows_the_job(data_dir: Path) -> None:
    """Against a slow server Generate hands the page back with the job running; it then lands in History."""
    with FaultServer(slow_seconds=2.0) as server:
        at = open_app({API_KEY_NAME: "sk_test_jobs", DATA_DIR_NAME: str(data_dir),
                       ENDPOINT_NAME: server.endpoint("slow")})
        at.text_area(key="generate_prompt").set_value(PROMPT)
        at.button(key="generate_run").click().run()
        assert_healthy(at)
        [line] = _panel_lines(at)
        assert "flux-2-pro" in line and "lighthouse" in line
        assert any(subheader.value == "In progress" for subheader in at.subheader)
        assert history(data_dir, workspace_of(at)) == []  # not back yet: the page did not wait for it
        at.text_area(key="generate_prompt").set_value("a second prompt, typed while the first runs").run()
        assert at.text_area(key="generate_prompt").value.startswith("a second prompt")
        at.switch_page("app_pages/history.py").run()
        at.switch_page("app_pages/generate.py").run()
        assert len(_panel_lines(at)) == 1  # read from the job rows: leaving the page loses nothing
        rows = b"".join(path.read_bytes() for path in data_dir.glob(f"{JOBS_FILE}*"))  # with its WAL
        assert PROMPT.encode() in rows and b"sk_test_jobs" not in rows  # the key never reaches a row

        finish_jobs(at)
    assert _panel_lines(at) == []
    assert any(button.label == "Download PNG" for button in at.get("download_button"))
    [entry] = history(data_dir, workspace_of(at))
    assert entry.prompt == PROMPT


def test_a_fifth_job_waits_and_a_cancelled_one_is_never_sent(data_dir: Path) -> None:
    """Four images running and one more click: the fifth waits its turn; cancelled there, it is never sent."""
    with FaultServer(slow_seconds=2.0) as server:
        at = open_app({API_KEY_NAME: "sk_test_jobs", DATA_DIR_NAME: str(data_dir),
                       ENDPOINT_NAME: server.endpoint("slow")})
        at.text_area(key="generate_prompt").set_value(PROMPT)
        at.segmented_control(key="generate_images").set_value(4).run()
        at.button(key="generate_run").click().run()
        at.segmented_control(key="generate_images").set_value(1)
        at.text_area(key="generate_prompt").set_value("the fifth kite")
        at.button(key="generate_run").click().run()
        lines = _panel_lines(at)
        assert len(lines) == 5
        [waiting] = [line for line in lines if line.startswith("**Waiting for its turn**")]
        assert "fifth kite" in waiting
        cancels = [button for button in at.button if button.label == "Cancel"]
        cancels[-1].click().run()  # the newest job: the one waiting
        assert len(_panel_lines(at)) == 4
        finish_jobs(at)
        assert len(server.posts()) == 4
    assert len(history(data_dir, workspace_of(at))) == 4
    assert any(info.value == "Cancelled." for info in at.info)


def test_a_cancelled_running_job_that_arrives_is_kept_and_marked(data_dir: Path) -> None:
    """Cancel while it runs: it leaves the panel; when its paid image arrives it is in History, marked."""
    with FaultServer(slow_seconds=2.0) as server:
        at = open_app({API_KEY_NAME: "sk_test_jobs", DATA_DIR_NAME: str(data_dir),
                       ENDPOINT_NAME: server.endpoint("slow")})
        at.text_area(key="generate_prompt").set_value(PROMPT)
        at.button(key="generate_run").click().run()
        [cancel] = [button for button in at.button if button.label == "Cancel"]
        cancel.click().run()
        assert _panel_lines(at) == []
        with SqliteJobStore(data_dir) as jobs:
            deadline = time.monotonic() + 30
            while not jobs.latest_batch(workspace_of(at))[0].entry_id:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    at.run()
    assert len(history(data_dir, workspace_of(at))) == 1  # it was paid for
    assert any("Arrived after you cancelled" in caption.value for caption in at.caption)
    assert any(button.label == "Download PNG" for button in at.get("download_button"))


def test_a_job_whose_process_died_is_shown_interrupted(secrets, data_dir: Path) -> None:
    """A running row of a process that is gone reads as interrupted: the credits may have been spent."""
    at = open_app(secrets)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    gone = ProcessIdentity(THIS_PROCESS.host, child.pid, "an-earlier-boot")
    with SqliteJobStore(data_dir) as jobs:
        [job] = jobs.add_batch(workspace_of(at), "a kite lost in a restart", ["flux-2-pro"], None, owner=gone)
        jobs.start(job.id)
    at.run()
    assert_healthy(at)
    [line] = _panel_lines(at)
    assert "Interrupted" in line and "credits may have been spent" in line
    with SqliteJobStore(data_dir) as jobs:
        assert jobs.get(job.id).status == INTERRUPTED  # type: ignore[union-attr]
    [dismiss] = [button for button in at.button if button.label == "Dismiss"]
    dismiss.click().run()
    assert _panel_lines(at) == []
