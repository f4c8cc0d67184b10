"""Errors and bad input seen in the browser, against a server whose answers the test chooses."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from lib.contract import MAX_PIXELS
from lib.ui.markdown_text import WORD_JOINER
from tests.fault_server import MARKUP_TEXT, FaultServer

from . import ui
from .harness import StreamlitServer, assert_no_traceback, open_app, running_app, wait_idle

TIMEOUT_S = 3  # the app's read timeout here, so the timeout case takes seconds, not minutes
FAULT_KEY = "sk_fault_server_key"  # the fault server's 401 echoes it back: it must never reach the page
FIRST_PROMPT = "a quiet harbour at dawn, first picture of the session"

# fault -> what the person must read (regular expressions on the error box).
FAULT_MESSAGES = {
    "401": [r"API key is missing or invalid", r"API key\*?\*? field in the sidebar"],
    "402": [r"out of credits", r"billing dashboard"],
    "429": [r"Too many requests", r"wait"],
    "500": [r"having trouble \(HTTP 500\)", r"Request id: req_fault_"],
    "slow": [rf"did not answer within {TIMEOUT_S} seconds"],
    "html": [r"isn't valid JSON", r"Request id: req_fault_"],
}


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    """The API server, answering normally until a test picks a fault; "slow" outlasts the app's timeout."""
    with FaultServer(slow_seconds=10 * TIMEOUT_S) as server:
        yield server


@pytest.fixture(scope="module")
def faulty_app(
    tmp_path_factory: pytest.TempPathFactory, fault_server: FaultServer
) -> Iterator[StreamlitServer]:
    """The app configured (environment) with the fault server's endpoint and key, and a short timeout."""
    env = {
        "IMAGE_STUDIO_ENDPOINT": fault_server.switchable_endpoint,
        "IMAGE_STUDIO_API_KEY": FAULT_KEY,
        "IMAGE_STUDIO_TIMEOUT": str(TIMEOUT_S),
    }
    with running_app(tmp_path_factory.mktemp("faulty_app"), env) as server:
        yield server
        server.assert_no_traceback_logged()


@pytest.fixture(scope="module")
def page(browser, faulty_app: StreamlitServer, fault_server: FaultServer) -> Iterator[Page]:
    """One tab whose history already holds one image, made before any fault."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = open_app(context, faulty_app.url)
    expect(page.get_by_text("The API key from environment — not checked yet", exact=False)).to_be_visible()
    ui.generate(page, FIRST_PROMPT)
    yield page
    context.close()


@pytest.fixture(autouse=True)
def answers_normally_after(request: pytest.FixtureRequest, fault_server: FaultServer) -> Iterator[None]:
    """Each test leaves the server answering normally and the page without a traceback."""
    yield
    fault_server.mode = "ok"
    if "page" in request.fixturenames:
        assert_no_traceback(request.getfixturevalue("page"))


def _last_body(server: FaultServer) -> bytes:
    """The body of the last API call the server received."""
    return server.posts()[-1].body


def _prompt_of(body: bytes) -> str:
    """The prompt inside a request body the server received."""
    return json.loads(body).get("prompt", "")


def generate_requests(server: FaultServer) -> int:
    """How many generate requests reached the server so far."""
    return sum(1 for call in server.posts() if call.json().get("action", "generate") == "generate")


@pytest.mark.parametrize("fault", list(FAULT_MESSAGES))
def test_fault_shows_plain_message_and_keeps_history(
    page: Page, fault_server: FaultServer, fault: str
) -> None:
    """401, 402, 429, 500, a timeout and HTML garbage each give their plain message; history stays intact."""
    ui.go_to(page, "Generate")
    expect(ui.prompt_box(page)).to_have_value(FIRST_PROMPT)  # the form kept its values
    fault_server.mode = fault
    ui.button(page, "Generate").click()
    error = ui.main(page).get_by_test_id("stAlertContentError")
    for pattern in FAULT_MESSAGES[fault]:
        expect(error).to_contain_text(re.compile(pattern))
    wait_idle(page)
    assert FAULT_KEY not in page.content()  # the 401 body echoed the key: it must not reach the page
    expect(ui.prompt_box(page)).to_have_value(FIRST_PROMPT)
    # The last good result stays on screen, and History still holds it.
    expect(ui.main(page).get_by_test_id("stCaptionContainer").filter(has_text=FIRST_PROMPT)).to_be_visible()
    fault_server.mode = "ok"
    ui.go_to(page, "History")
    expect(ui.history_items(page)).to_have_count(1)
    expect(ui.history_captions(page).filter(has_text=FIRST_PROMPT)).to_have_count(1)


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("", "Write a prompt first."),
        ("   \n\t  ", "Write a prompt first."),
        ("x" * 10_001, "The prompt is 10,001 characters long; the limit is 10,000."),
    ],
    ids=["empty", "whitespace", "10001-chars"],
)
def test_unsendable_prompt_is_explained_and_not_sent(
    page: Page, fault_server: FaultServer, prompt: str, message: str
) -> None:
    """An empty, blank or 10,001-character prompt: the page explains and nothing is sent."""
    ui.go_to(page, "Generate")
    sent = generate_requests(fault_server)
    box = ui.prompt_box(page)
    box.fill(prompt)
    box.blur()
    expect(ui.main(page).get_by_text(re.compile(rf"^{len(prompt):,} / 10,000 characters"))).to_be_visible()
    wait_idle(page)
    ui.button(page, "Generate").click()
    expect(ui.main(page).get_by_test_id("stAlertContentWarning")).to_contain_text(message)
    wait_idle(page)
    assert generate_requests(fault_server) == sent


def test_prompt_of_exactly_10000_characters_is_sent(page: Page, fault_server: FaultServer) -> None:
    """A prompt of exactly 10,000 characters is accepted and reaches the server whole."""
    ui.go_to(page, "Generate")
    prompt = ("a long and careful description of a garden " * 300)[:10_000]
    ui.generate(page, prompt)
    assert _prompt_of(_last_body(fault_server)) == prompt


def test_non_latin_prompt_kept_intact_end_to_end(
    page: Page, fault_server: FaultServer, tmp_path: Path
) -> None:
    """Non-Latin scripts and emoji travel unchanged to the server, the screen, history and the PNG."""
    prompt = "東京の夜景 · Ελληνικό φως · مرحبا بالعالم · नमस्ते · 👩🏽‍🚀🚀 over Zürich"
    ui.go_to(page, "Generate")
    ui.generate(page, prompt)
    assert _prompt_of(_last_body(fault_server)) == prompt
    png = ui.download(page, ui.button(page, "Download PNG"), tmp_path)
    with Image.open(png) as image:
        assert prompt in "\n".join(image.text.values())
    ui.go_to(page, "History")
    expect(ui.history_captions(page).filter(has_text=prompt)).to_have_count(1)


def test_unusable_uploads_get_a_clear_message(page: Page, fault_server: FaultServer, tmp_path: Path) -> None:
    """A text file named .png, a 40 x 40 image and a GIF are refused by name; nothing is sent; app goes on."""
    gif = tmp_path / "blink.gif"
    frames = [Image.new("RGB", (200, 150), colour) for colour in ((220, 20, 20), (20, 20, 220))]
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    fake = tmp_path / "notes.png"
    fake.write_text("shopping list: eggs, milk, bread\n", encoding="utf-8")
    tiny = tmp_path / "tiny-icon.png"
    Image.new("RGB", (40, 40), (200, 30, 30)).save(tiny)
    ui.go_to(page, "Generate")
    ui.type_prompt(page, "make it warmer")
    sent = generate_requests(fault_server)

    ui.upload(page, "Input images (optional)", [fake, tiny, gif])
    errors = ui.main(page).get_by_test_id("stAlertContentError")
    expect(errors.filter(has_text="notes.png")).to_be_visible()
    expect(errors.filter(has_text="tiny-icon.png")).to_contain_text(re.compile(r"64|too small"))
    # GIF is not among the uploader's types: Streamlit itself says so beside the file's name.
    refused_type = ui.main(page).get_by_role("alert").filter(has_text="image/gif files are not allowed")
    expect(refused_type).to_be_visible()
    wait_idle(page)
    ui.button(page, "Generate").click()
    expect(ui.main(page).get_by_test_id("stAlertContentWarning")).to_contain_text("not usable images")
    wait_idle(page)
    assert generate_requests(fault_server) == sent

    # Still serving: the same page, with the bad files removed, generates normally. The GIF goes first:
    # the browser alone refused it, so removing it reruns nothing that could redraw the uploader under
    # a later click. Each other removal is done when the app's message about that file has gone.
    for name in ("blink.gif", "notes.png", "tiny-icon.png"):
        remove = ui.main(page).get_by_role("button", name=f"Remove {name}", exact=True)
        expect(remove).to_be_visible()
        wait_idle(page)
        remove.click()
        expect(remove).to_have_count(0)
        expect(errors.filter(has_text=name)).to_have_count(0)
        wait_idle(page)
    ui.generate(page, "make it warmer, second try")
    assert generate_requests(fault_server) == sent + 1


def _awkward_images(folder: Path) -> list[Path]:
    """Six uploads that are fine but awkward: each must be converted, not refused."""
    huge = folder / "huge-10000.jpg"
    Image.new("RGB", (10_000, 10_000), (90, 140, 200)).save(huge, quality=80)
    cmyk = folder / "print-cmyk.jpg"
    Image.new("CMYK", (300, 200), (255, 0, 0, 0)).save(cmyk)  # pure cyan ink
    deep = folder / "scan-16bit.png"
    Image.new("I;16", (320, 240), 32768).save(deep)  # mid grey in 16 bits
    palette = folder / "sticker-palette.png"
    sticker = Image.new("P", (256, 256), 0)
    sticker.putpalette([0, 0, 0, 230, 60, 30] + [0] * 762)
    sticker.paste(1, (64, 64, 192, 192))
    sticker.save(palette, transparency=0)
    animated = folder / "blink.webp"
    frames = [Image.new("RGB", (200, 150), colour) for colour in ((220, 20, 20), (20, 20, 220))]
    frames[0].save(animated, save_all=True, append_images=frames[1:], duration=100, loop=0, lossless=True)
    rotated = folder / "phone-photo.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown upright after a 90° turn, 200 wide and 400 high
    Image.new("RGB", (400, 200), (40, 160, 80)).save(rotated, exif=exif)
    return [huge, cmyk, deep, palette, animated, rotated]


def _sent_images(body: bytes) -> list[Image.Image]:
    """The input images inside a generate request, decoded, in field order."""
    fields = json.loads(body)
    names = ["input_image"] + [f"input_image_{i}" for i in range(2, 9)]
    values = [fields[name] for name in names if name in fields]
    images = []
    for value in values:
        assert value.startswith("data:image/"), value[:40]
        image = Image.open(io.BytesIO(base64.b64decode(value.split(",", 1)[1])))
        image.load()
        images.append(image)
    return images


def test_awkward_uploads_are_converted_and_sent(
    page: Page, fault_server: FaultServer, tmp_path: Path
) -> None:
    """10,000 px, CMYK, 16-bit, palette with transparency, animated WebP, EXIF-rotated: all sent, fixed."""
    files = _awkward_images(tmp_path)
    ui.go_to(page, "Generate")
    ui.pick_model(page, "flux-2-pro")  # it takes up to 8 input images
    ui.upload(page, "Input images (optional)", files)
    thumbnails = ui.main(page).get_by_test_id("stImage")
    for file in files:
        expect(thumbnails.filter(has_text=file.name)).to_be_visible()
    expect(ui.main(page).get_by_test_id("stAlertContentError")).to_have_count(0)
    ui.generate(page, "make it a little warmer")

    huge, cmyk, deep, palette, animated, rotated = _sent_images(_last_body(fault_server))
    assert huge.width * huge.height <= MAX_PIXELS and huge.width == huge.height  # downscaled, not refused
    assert cmyk.mode in ("RGB", "RGBA")
    red, green, blue = cmyk.convert("RGB").getpixel((150, 100))
    assert red < 100 and green > 120 and blue > 180  # still cyan
    assert 100 < deep.convert("L").getpixel((160, 120)) < 160  # mid grey, not clipped to white
    assert palette.mode == "RGBA" and palette.getchannel("A").getextrema() == (0, 255)
    assert animated.convert("RGB").getpixel((100, 75))[0] > 180  # the first (red) frame
    assert rotated.size == (200, 400)  # upright


def test_server_markup_is_shown_as_text(page: Page, fault_server: FaultServer) -> None:
    """A 4xx message and an enhanced prompt with a link, an image, HTML and a bare URL show as text only."""
    asked_for: list[str] = []
    page.on("request", lambda request: asked_for.append(request.url) if "markup.invalid" in request.url
            else None)
    fault_server.mode = "markup"
    ui.go_to(page, "Generate")
    ui.button(page, "Generate").click()
    error = ui.main(page).get_by_test_id("stAlertContentError")
    expect(error).to_contain_text("Click here")
    wait_idle(page)
    # Bare addresses too, which Markdown links by itself: word joiners (invisible) keep them text.
    expect(error.locator("a")).to_have_count(0)
    shown = error.inner_text().replace(WORD_JOINER, "")
    assert "[Click here](https://markup.invalid/link)" in shown
    assert "![tracker](https://markup.invalid/pixel.png)" in shown
    assert '<a href="https://markup.invalid/html">this</a>' in shown

    ui.go_to(page, "Enhance prompt")
    ui.type_prompt(page, "a dog on a beach")
    ui.button(page, "Enhance").click()
    enhanced = ui.main(page).get_by_test_id("stCode").nth(1)
    ui.expect_shown(page, enhanced)
    expect(enhanced).to_contain_text(MARKUP_TEXT)
    expect(ui.main(page).get_by_test_id("stHtml")).to_contain_text("[Click here](https://markup.invalid/link)")
    wait_idle(page)
    expect(page.locator("a[href*='markup.invalid']")).to_have_count(0)
    expect(page.locator("img[src*='markup.invalid']")).to_have_count(0)
    assert asked_for == []


def test_file_names_with_markup_are_shown_as_text(page: Page, tmp_path: Path) -> None:
    """Upload names that look like Markdown show literally in captions and messages, on both upload pages."""
    asked_for: list[str] = []
    page.on("request", lambda request: asked_for.append(request.url) if "markup.invalid" in request.url
            else None)
    link_name = "[Click here](https:markup.invalid).png"
    bold_name = "**loud** photo.png"
    (tmp_path / link_name).write_text("not an image\n", encoding="utf-8")
    Image.new("RGB", (320, 240), (40, 120, 200)).save(tmp_path / bold_name)
    files = [tmp_path / link_name, tmp_path / bold_name]

    for page_title, region in (("Generate", "Input images (optional)"), ("Remove background", "Image")):
        ui.go_to(page, page_title)
        ui.upload(page, region, files)
        expect(ui.main(page).get_by_test_id("stAlertContentError").filter(has_text=link_name)).to_be_visible()
        expect(ui.main(page).get_by_test_id("stImageCaption").filter(has_text=bold_name)).to_be_visible()
        wait_idle(page)
        expect(page.locator("a[href*='markup.invalid']")).to_have_count(0)
        expect(ui.main(page).locator("strong", has_text="loud")).to_have_count(0)
    assert asked_for == []
