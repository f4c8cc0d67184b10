"""What people do, offline, in one browser tab: generate, enhance, cut out, history, edit, restore."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from lib.store import HistoryStore
from lib.ui.result_cards import KIND_LABELS

from . import ui
from .harness import StreamlitServer, assert_no_traceback, open_app, wait_idle

GENERATE_PROMPT = "A lighthouse on a cliff at dusk, warm light in the windows"
ENHANCE_PROMPT = "a dog on a beach"
EDIT_PROMPT = "make it black and white"


@pytest.fixture(scope="module")
def page(browser, offline_app: StreamlitServer) -> Iterator[Page]:
    """One tab, kept for the module: flows 1-4 build one history, as a person working along would."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = open_app(context, offline_app.url)
    yield page
    context.close()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this module's downloads are saved."""
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def made() -> dict[str, Path]:
    """Files the flows downloaded, for the flows that reuse them."""
    return {}


@pytest.fixture(autouse=True)
def no_traceback(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each flow, nothing on screen is a traceback."""
    yield
    if "page" in request.fixturenames:
        assert_no_traceback(request.getfixturevalue("page"))


def text_chunks(png: Path) -> str:
    """All PNG text chunks of a file, joined."""
    with Image.open(png) as image:
        return "\n".join(f"{key}={value}" for key, value in image.text.items())


def test_generate_offline_downloads_landscape_png_with_prompt(page: Page, made, downloads: Path) -> None:
    """Generate offline at 16:9: the image appears; Download PNG gives a landscape PNG holding the prompt."""
    made["generated_png"] = generate_landscape_png(page, downloads)


@pytest.fixture
def generated_png(page: Page, made, downloads: Path) -> Path:
    """The PNG the generate flow downloaded; made now when that flow did not run (or failed) first."""
    if "generated_png" not in made:
        made["generated_png"] = generate_landscape_png(page, downloads)
    return made["generated_png"]


def generate_landscape_png(page: Page, downloads: Path) -> Path:
    """The generate flow: klein at 16:9 offline, checked on screen and in the downloaded PNG."""
    ui.go_to(page, "Generate")
    expect(page.get_by_text("Offline demo — images are previews from the Local Studio")).to_be_visible()
    ui.pick_model(page, "flux-2-klein-9b")
    ui.pick_aspect_ratio(page, "16:9")
    ui.generate(page, GENERATE_PROMPT)
    shown = ui.main(page).get_by_test_id("stImage").locator("img")
    expect(shown.first).to_be_visible()
    expect(ui.main(page).get_by_text("Preview from the offline Local Studio")).to_be_visible()

    png = ui.download(page, ui.button(page, "Download PNG"), downloads)
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.width > image.height
        assert abs(image.width / image.height - 16 / 9) < 0.05
    chunks = text_chunks(png)
    assert GENERATE_PROMPT in chunks
    assert "flux-2-klein-9b" in chunks and "16:9" in chunks
    return png


def test_enhance_then_use_in_generate(page: Page) -> None:
    """Enhance prompt -> Use in Generate puts the enhanced text in the Generate prompt; it then generates."""
    ui.go_to(page, "Enhance prompt")
    box = ui.main(page).get_by_role("textbox", name="Prompt", exact=True)
    box.fill(ENHANCE_PROMPT)
    box.blur()
    wait_idle(page)
    ui.button(page, "Enhance").click()
    ui.expect_shown(page, ui.main(page).get_by_role("heading", name="Enhanced"))
    enhanced = ui.main(page).get_by_test_id("stCode").nth(1).inner_text().strip()
    assert ENHANCE_PROMPT in enhanced and len(enhanced) > len(ENHANCE_PROMPT)

    ui.button(page, "Use in Generate").click()
    expect(ui.main(page).get_by_role("heading", name="Generate", level=1)).to_be_visible()
    expect(ui.prompt_box(page)).to_have_value(enhanced)
    wait_idle(page)
    ui.button(page, "Generate").click()
    ui.expect_shown(page, ui.main(page).get_by_test_id("stCaptionContainer").filter(has_text=enhanced[:60]))
    wait_idle(page)


def test_remove_background_gives_transparent_png(page: Page, samples_dir: Path, downloads: Path) -> None:
    """Remove background: the cut-out shows on a checkerboard; its PNG has transparent and opaque pixels."""
    ui.go_to(page, "Remove background")
    ui.upload(page, "Image", samples_dir / "chelsea.jpg")
    run = ui.button(page, "Remove background (2 credits)")
    expect(run).to_be_enabled()
    run.click()
    ui.expect_shown(page, ui.main(page).get_by_role("heading", name="After"))
    expect(ui.main(page).get_by_role("radio", name="Checkerboard")).to_be_checked()
    wait_idle(page)

    png = ui.download(page, ui.button(page, "Download PNG (transparent)"), downloads)
    with Image.open(png) as image:
        assert image.format == "PNG" and image.mode in ("RGBA", "LA")
        alpha = image.getchannel("A")
        low, high = alpha.getextrema()
    assert low == 0 and high == 255
    histogram = alpha.histogram()
    total = sum(histogram)
    assert 0.02 < histogram[0] / total < 0.98  # a real cut-out: some of each, not an all-clear mask


def test_history_lists_all_and_survives_reload(
    page: Page, offline_app: StreamlitServer, generated_png: Path, downloads: Path
) -> None:
    """History lists all results, also after a reload; a selected item downloads; the zip has all."""
    ui.go_to(page, "History")
    # What this tab made (all flows before this one, or only what generated_png made when run alone).
    assert offline_app.data_dir is not None and "ws=" in page.url
    with HistoryStore(offline_app.data_dir) as store:
        entries = store.list(parse_qs(urlparse(page.url).query)["ws"][0], limit=100)
    expect(ui.history_items(page)).to_have_count(len(entries))
    captions = ui.history_captions(page)
    for kind in {KIND_LABELS[entry.kind] for entry in entries}:
        expect(captions.filter(has_text=kind).first).to_be_visible()

    page.reload()
    wait_idle(page)
    expect(ui.main(page).get_by_role("heading", name="History", level=1)).to_be_visible()
    expect(ui.history_items(page)).to_have_count(len(entries))
    expect(ui.history_captions(page).filter(has_text=GENERATE_PROMPT)).to_have_count(1)

    # The generate flow's image (the oldest when every flow ran in order).
    ui.select_history_item(page, 1 + [entry.prompt for entry in entries].index(GENERATE_PROMPT))
    # The selected item's details (not the thumbnails' captions) name it once the gallery has rerun.
    details = ui.main(page).get_by_test_id("stMarkdown").get_by_test_id("stCaptionContainer")
    expect(details.filter(has_text=GENERATE_PROMPT)).to_have_count(1)
    wait_idle(page)
    png = ui.download(page, ui.button(page, "Download"), downloads)
    assert GENERATE_PROMPT in text_chunks(png)

    archive = ui.download(page, ui.button(page, "Download all (zip)"), downloads)
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        images = [name for name in names if name.lower().endswith(".png") and not name.startswith("inputs/")]
        assert len(images) == sum(entry.has_image for entry in entries), names
        assert "history.json" in names
        history = json.loads(zipped.read("history.json"))
        for name in images:
            with Image.open(io.BytesIO(zipped.read(name))) as image:
                image.verify()
    assert GENERATE_PROMPT in json.dumps(history)


def test_edit_with_input_image(page: Page, samples_dir: Path, downloads: Path) -> None:
    """An uploaded phone photo (stored sideways, EXIF-rotated) shows upright and makes an edit at 3:2."""
    with Image.open(samples_dir / "coffee.jpg") as image:
        exif = Image.Exif()
        exif[0x0112] = 6  # "turn 90° clockwise to show": what phones write for a photo taken sideways
        photo = downloads / "coffee-from-phone.jpg"
        image.transpose(Image.Transpose.ROTATE_90).save(photo, quality=95, exif=exif)
    ui.go_to(page, "Generate")
    ui.pick_aspect_ratio(page, "3:2")
    ui.upload(page, "Input images (optional)", photo)
    # Shown upright: the thumbnail is wider than high, as the photo was taken.
    thumbnail = ui.main(page).get_by_test_id("stImage").filter(has_text=photo.name).locator("img")
    expect(thumbnail).to_be_visible()
    box = thumbnail.bounding_box()
    assert box is not None and box["width"] > box["height"], box
    ui.generate(page, EDIT_PROMPT)
    result = ui.main(page).get_by_test_id("stCaptionContainer").filter(has_text=EDIT_PROMPT)
    expect(result).to_contain_text("Edit")
    expect(result).to_contain_text(re.compile(r"3:2 · \d+ × \d+ px landscape"))


def test_restore_settings_from_downloaded_png(page: Page, generated_png: Path) -> None:
    """Dropping a downloaded PNG on Restore settings from image fills prompt, model and aspect ratio."""
    ui.go_to(page, "Generate")
    ui.type_prompt(page, "something else entirely")
    ui.pick_model(page, "flux-2-pro")
    ui.pick_aspect_ratio(page, "1:1")

    ui.main(page).locator("summary").filter(has_text="Restore settings from image").click()
    ui.upload(page, "Restore settings from image", generated_png)
    expect(ui.main(page).get_by_text(re.compile(r"^Settings restored from "))).to_be_visible()
    expect(ui.prompt_box(page)).to_have_value(GENERATE_PROMPT)
    expect(ui.main(page).get_by_role("combobox", name="Model")).to_have_value("flux-2-klein-9b")
    expect(ui.main(page).get_by_role("radio", name="16:9", exact=True)).to_be_checked()


def test_ctrl_enter_in_the_prompt_generates(page: Page) -> None:
    """Ctrl+Enter typed in the Prompt box generates, with the text just typed."""
    ui.go_to(page, "Generate")
    prompt = "a paper boat on a puddle, sent with the keyboard"
    box = ui.prompt_box(page)
    box.fill(prompt)
    box.press("Control+Enter")
    ui.expect_shown(page, ui.main(page).get_by_test_id("stCaptionContainer").filter(has_text=prompt))
    wait_idle(page)
