"""The Remove background page through AppTest, against a real Local Studio."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from PIL import Image

from bench.cutout_server import API_KEY, NO_SUBJECT, CutoutServer
from lib.config import API_KEY_NAME, DATA_DIR_NAME, ENDPOINT_NAME
from lib.store import HistoryStore
from lib.workspace import cutouts_zip
from tests.app_testing import (
    assert_healthy,
    errors,
    open_app,
    png_bytes,
    studio_secrets,
    workspace_of,
)


def test_cut_out_before_after_and_downloads(secrets, data_dir: Path, samples_dir: Path) -> None:
    """A photo becomes a transparent cut-out, shown before/after with both downloads; kept in history."""
    at = open_app(secrets, page="remove_background")
    assert at.button(key="remove_background_run").disabled
    photo = (samples_dir / "chelsea.jpg").read_bytes()
    at.file_uploader(key="remove_background_image").set_value(("chelsea.jpg", photo, "image/jpeg")).run()
    assert not at.button(key="remove_background_run").disabled
    assert at.button(key="remove_background_run").label == "Remove background (2 credits)"
    assert [header.value for header in at.main.subheader] == ["Before"]  # a preview before spending
    at.button(key="remove_background_run").click().run()

    assert_healthy(at)
    assert not errors(at)
    assert [header.value for header in at.main.subheader] == ["Before", "After"]
    assert at.segmented_control(key="remove_background_on").value == "Checkerboard"
    labels = {button.label for button in at.get("download_button")}
    assert {"Download PNG (transparent)", "Download JPG on #ffffff"} <= labels

    at.segmented_control(key="remove_background_on").set_value("Solid colour")
    at.color_picker(key="remove_background_colour").pick("#00aa44").run()
    assert_healthy(at)
    assert "Download JPG on #00aa44" in {button.label for button in at.get("download_button")}

    with HistoryStore(data_dir) as store:
        [entry] = store.list(workspace_of(at))
        png = store.image_png(entry.workspace_id, entry.id)
    assert (entry.kind, entry.credits_used) == ("cutout", 2)
    with Image.open(io.BytesIO(png)) as image:
        low, high = image.convert("RGBA").getchannel("A").getextrema()
    assert (low, high) == (0, 255)


def test_not_an_image_is_named_and_button_stays_off(secrets, data_dir: Path) -> None:
    """A text file posing as a photo is named in the message; nothing can be sent."""
    at = open_app(secrets, page="remove_background")
    fake = ("photo.jpg", b"%PDF-1.4 not a photo", "image/jpeg")
    at.file_uploader(key="remove_background_image").set_value(fake).run()
    assert_healthy(at)
    assert any("photo.jpg" in message for message in errors(at))
    assert at.button(key="remove_background_run").disabled
    with HistoryStore(data_dir) as store:
        assert store.count(workspace_of(at)) == 0


def test_new_photo_replaces_the_shown_result(secrets, samples_dir: Path) -> None:
    """After a cut-out, choosing another photo shows that photo alone, ready for its own cut-out."""
    at = open_app(secrets, page="remove_background")
    first = ("chelsea.jpg", (samples_dir / "chelsea.jpg").read_bytes(), "image/jpeg")
    at.file_uploader(key="remove_background_image").set_value(first).run()
    at.button(key="remove_background_run").click().run()
    assert [header.value for header in at.main.subheader] == ["Before", "After"]
    second = ("rocket.jpg", (samples_dir / "rocket.jpg").read_bytes(), "image/jpeg")
    at.file_uploader(key="remove_background_image").set_value(second).run()
    assert_healthy(at)
    assert [header.value for header in at.main.subheader] == ["Before"]


def test_too_few_credits_are_said_before_the_click(fresh_local_studio, data_dir: Path,
                                                   samples_dir: Path) -> None:
    """After a cut-out leaves 1 credit, the page says the next one (2 credits) cannot be paid."""
    at = open_app(studio_secrets(fresh_local_studio(starting_credits=3), data_dir), page="remove_background")
    photo = ("chelsea.jpg", (samples_dir / "chelsea.jpg").read_bytes(), "image/jpeg")
    at.file_uploader(key="remove_background_image").set_value(photo).run()
    assert not at.warning
    at.button(key="remove_background_run").click().run()
    assert_healthy(at)
    assert any("This costs 2 credits, and only 1 credit is left" in warning.value for warning in at.warning)


def _two_tone(colour: str) -> bytes:
    """A small photo with a subject: a coloured square on a light ground."""
    picture = Image.new("RGB", (120, 90), "#dddddd")
    picture.paste(colour, (30, 20, 70, 60))
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def test_many_photos_at_once_each_kept_by_name(data_dir: Path) -> None:
    """Three uploads: the total is shown, all three are cut out, kept by name, zipped as <name>-cutout.png."""
    with CutoutServer(delay_s=0.2) as server:
        at = open_app(_cutout_secrets(server, data_dir), page="remove_background")
        files = [(f"{name}.png", _two_tone(colour), "image/png")
                 for name, colour in (("cat", "#aa3300"), ("dog", "#0033aa"), ("owl", "#228822"))]
        at.file_uploader(key="remove_background_image").set_value(files).run()
        assert at.button(key="remove_background_run").label == "Remove background from 3 photos (6 credits)"
        at.button(key="remove_background_run").click().run()

    assert_healthy(at)
    assert not errors(at)
    with HistoryStore(data_dir) as store:
        entries = store.list(workspace_of(at))
        assert sorted(entry.source_name or "" for entry in entries) == ["cat.png", "dog.png", "owl.png"]
        zipped_bytes = cutouts_zip(store, workspace_of(at), [entry.id for entry in entries])
        with zipfile.ZipFile(io.BytesIO(zipped_bytes)) as zipped:
            assert sorted(zipped.namelist()) == ["cat-cutout.png", "dog-cutout.png", "owl-cutout.png"]
    assert at.download_button(key="remove_background_zip").label == "Download all (zip, 3 PNGs)"
    assert at.button(key="remove_background_run").disabled  # all done: nothing is paid for twice


def test_one_failing_photo_keeps_the_others(data_dir: Path) -> None:
    """A photo the server refuses shows its reason; the other two are cut out and zipped."""
    with CutoutServer(delay_s=0.2) as server:
        at = open_app(_cutout_secrets(server, data_dir), page="remove_background")
        files = [("a.png", _two_tone("#aa3300"), "image/png"), ("blank.png", png_bytes((100, 100), "#ffffff"),
                 "image/png"), ("c.png", _two_tone("#0033aa"), "image/png")]
        at.file_uploader(key="remove_background_image").set_value(files).run()
        at.button(key="remove_background_run").click().run()

        assert_healthy(at)
        assert any(NO_SUBJECT in message for message in errors(at)), errors(at)
        with HistoryStore(data_dir) as store:
            assert sorted(e.source_name or "" for e in store.list(workspace_of(at))) == ["a.png", "c.png"]
        assert at.download_button(key="remove_background_zip").label == "Download all (zip, 2 PNGs)"
        # Trying again sends only the failed photo.
        assert at.button(key="remove_background_run").label == "Remove background from 1 photo (2 credits)"


def test_more_than_twenty_photos_are_refused(data_dir: Path) -> None:
    """21 photos: a plain message names how many, and nothing can be sent."""
    with CutoutServer(delay_s=0.0) as server:
        at = open_app(_cutout_secrets(server, data_dir), page="remove_background")
        photo = png_bytes((80, 80), "#3366cc")
        at.file_uploader(key="remove_background_image").set_value(
            [(f"p{n}.png", photo, "image/png") for n in range(21)]).run()
        assert_healthy(at)
        assert any("You chose 21 photos; at most 20 go at once" in message for message in errors(at))
        assert at.button(key="remove_background_run").disabled
        assert server.requests == 0


def _cutout_secrets(server: CutoutServer, data_dir: Path) -> dict[str, str]:
    """Secrets pointing the app at the slow cut-out server."""
    return {API_KEY_NAME: API_KEY, ENDPOINT_NAME: server.endpoint, DATA_DIR_NAME: str(data_dir)}
