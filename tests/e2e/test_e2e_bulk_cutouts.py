"""Remove background in bulk, in a real browser: several photos at once, each shown, all in one zip."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from bench.cutout_server import API_KEY, NO_SUBJECT, CutoutServer

from . import ui
from .harness import StreamlitServer, assert_no_traceback, open_app, running_app, wait_idle


@pytest.fixture(scope="module")
def cutout_server() -> Iterator[CutoutServer]:
    """A server answering each cut-out after half a second, refusing photos of one flat colour."""
    with CutoutServer(delay_s=0.5) as server:
        yield server


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, cutout_server: CutoutServer) -> Iterator[StreamlitServer]:
    """The app pointed at the cut-out server."""
    env = {"IMAGE_STUDIO_API_KEY": API_KEY, "IMAGE_STUDIO_ENDPOINT": cutout_server.endpoint}
    with running_app(tmp_path_factory.mktemp("bulk_app"), env) as server:
        yield server
        server.assert_no_traceback_logged()


def _photo(folder: Path, name: str, colour: str | None) -> Path:
    """A small photo: a coloured square on a light ground, or (colour None) one flat colour."""
    picture = Image.new("RGB", (160, 120), "#dddddd")
    if colour:
        picture.paste(colour, (40, 30, 110, 90))
    path = folder / name
    picture.save(path)
    return path


def test_several_photos_one_zip(browser, app: StreamlitServer, tmp_path: Path) -> None:
    """Four photos: three cut-outs and one refusal shown beside its photo; the zip holds the three by name."""
    photos = [_photo(tmp_path, "red fox.png", "#aa3300"), _photo(tmp_path, "blue.jpg", "#0033aa"),
              _photo(tmp_path, "blank.png", None), _photo(tmp_path, "green.png", "#228822")]
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = open_app(context, app.url)
    ui.go_to(page, "Remove background")
    ui.upload(page, "Image", photos)
    run = ui.button(page, "Remove background from 4 photos (8 credits)")
    expect(run).to_be_enabled()
    run.click()
    ui.expect_shown(page, ui.button(page, "Download all (zip, 3 PNGs)"))
    expect(ui.main(page).get_by_text(NO_SUBJECT)).to_be_visible()
    wait_idle(page)
    assert_no_traceback(page)

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    saved = ui.download(page, ui.button(page, "Download all (zip, 3 PNGs)"), downloads)
    with zipfile.ZipFile(saved) as archive:
        assert sorted(archive.namelist()) == ["blue-cutout.png", "green-cutout.png", "red-fox-cutout.png"]
        with Image.open(io.BytesIO(archive.read("red-fox-cutout.png"))) as cutout:
            assert cutout.mode == "RGBA" and cutout.getchannel("A").getextrema() == (0, 255)
    context.close()
