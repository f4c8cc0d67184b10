"""The Remove background page through AppTest, against a real Local Studio."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from lib.store import HistoryStore
from tests.app_testing import (
    assert_healthy,
    errors,
    open_app,
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
