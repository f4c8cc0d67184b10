"""The app's actions as plain calls: checks before sending, and results kept in history."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from lib.client import ImageStudioClient
from lib.history_entry import new_workspace_id
from lib.images import ImageInputError
from lib.store import HistoryStore
from lib.ui.text_changes import added_parts
from lib.workspace import (
    InputImage,
    Workspace,
    check_upload,
    download_name,
    form_values,
    orientation,
    request_kind,
)


def png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    """A plain image as PNG bytes."""
    buffer = io.BytesIO()
    Image.new(mode, size, (200, 40, 40, 128) if mode == "RGBA" else (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def workspace(local_studio, tmp_path: Path):
    """A workspace on the test run's Local Studio with a history folder of its own."""
    with ImageStudioClient(local_studio.api_key, local_studio.endpoint) as client, \
            HistoryStore(tmp_path / "data") as store:
        yield Workspace(client, store, new_workspace_id())


def test_kind_limit_orientation_and_names() -> None:
    """Request kinds, orientation words and download names."""
    assert request_kind("a cat", 0) == "generation"
    assert request_kind("make it blue", 1) == "edit"
    assert request_kind("remove the background", 1) == "cutout"
    assert request_kind("remove the background", 0) == "generation"
    assert [orientation(ratio) for ratio in ("16:9", "9:16", "1:1")] == ["landscape", "portrait", "square"]


def test_form_values_from_settings_keep_only_known_values() -> None:
    """Saved settings fill the form; unknown models or ratios are left out; enhancements give their text."""
    assert form_values({"prompt": "a cat", "model": "flux-2-pro", "aspect_ratio": "4:3"}) == {
        "prompt": "a cat", "model": "flux-2-pro", "aspect_ratio": "4:3"}
    assert form_values({"prompt": "a cat", "model": "dall-e", "aspect_ratio": "5:4"}) == {"prompt": "a cat"}
    assert form_values({"prompt": "a cat", "enhanced_prompt": "a fluffy cat"})["prompt"] == "a fluffy cat"
    assert form_values({}) == {}


def test_check_upload_thumbnails_and_refusals() -> None:
    """Good uploads give a small thumbnail (PNG when transparent); bad ones name the file."""
    with Image.open(io.BytesIO(check_upload(InputImage("big.png", png((2000, 1000)))))) as thumb:
        assert max(thumb.size) <= 160 and thumb.format == "JPEG"
    with Image.open(io.BytesIO(check_upload(InputImage("glass.png", png((300, 300), "RGBA"))))) as thumb:
        assert thumb.format == "PNG"
    with pytest.raises(ImageInputError, match=r"small\.png"):
        check_upload(InputImage("small.png", png((40, 40))))
    with pytest.raises(ImageInputError, match=r"notes\.png"):
        check_upload(InputImage("notes.png", b"hello"))


def test_generate_enhance_and_cut_out_are_kept(workspace: Workspace, samples_dir: Path) -> None:
    """Each action saves its result with kind, model, ratio and credits."""
    made = workspace.generate("a red kite", model="flux-2-klein-9b", aspect_ratio="16:9")
    assert (made.entry.kind, made.entry.model) == ("generation", "flux-2-klein-9b")
    assert made.entry.aspect_ratio == "16:9"
    assert made.is_preview and made.credits_used == 1 and made.credits_remaining is not None
    photo = InputImage("chelsea.jpg", (samples_dir / "chelsea.jpg").read_bytes())
    assert workspace.generate("make it warmer", model="flux-2-pro", aspect_ratio=None,
                              input_images=[photo]).entry.kind == "edit"
    cut = workspace.remove_background(photo)
    assert (cut.entry.kind, cut.entry.credits_used) == ("cutout", 2)
    enhanced = workspace.enhance_prompt("a red kite")
    assert enhanced.entry.kind == "enhancement" and "kite" in enhanced.entry.text
    assert workspace.store.count(workspace.workspace_id) == 4
    assert download_name(made.entry).startswith("image-studio-generation-a-red-kite-")


def test_compare_models_returns_each_models_result(workspace: Workspace) -> None:
    """Compare gives one result per model, in order."""
    results = workspace.compare_models("two boats", aspect_ratio="3:2")
    assert list(results) == ["flux-2-pro", "flux-2-klein-9b"]
    assert all(outcome.entry.aspect_ratio == "3:2" for outcome in results.values())


def test_added_parts_marks_only_new_text() -> None:
    """The enhanced text splits into kept and added runs, case-blind, punctuation apart."""
    assert added_parts("a dog on a beach", "A dog on a beach, golden light") == [
        ("A dog on a beach", False), (", golden light", True)]
    assert added_parts("", "anything") == [("anything", True)]


def test_edits_and_cutouts_keep_their_inputs_and_file_name(workspace: Workspace, samples_dir: Path) -> None:
    """An edit keeps its uploads for Reuse; a cut-out keeps its photo and is named after the uploaded file."""
    photo = InputImage("Holiday Photo.jpg", (samples_dir / "chelsea.jpg").read_bytes())
    second = InputImage("sketch.png", png((300, 200)))
    edit = workspace.generate("make it warmer", model="flux-2-pro", aspect_ratio=None,
                              input_images=[photo, second]).entry
    assert workspace.store.input_images(workspace.workspace_id, edit.id) == [photo.data, second.data]
    assert edit.source_name is None
    cut = workspace.remove_background(photo).entry
    assert workspace.store.input_images(workspace.workspace_id, cut.id) == [photo.data]
    assert (cut.source_name, download_name(cut)) == ("Holiday Photo.jpg", "holiday-photo-cutout.png")
    assert download_name(cut, "jpg") == "holiday-photo-cutout.jpg"


def test_download_names_transliterate_accents(workspace: Workspace) -> None:
    """A prompt with accents gives the same slug as the export does, not dashes for each accent."""
    made = workspace.enhance_prompt("Café crème brûlée").entry
    assert download_name(made).startswith("image-studio-enhancement-cafe-creme-brulee-")
