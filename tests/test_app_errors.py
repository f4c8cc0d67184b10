"""Every API failure, seen through the app: a plain message, no traceback, the form and history intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from lib.config import API_KEY_NAME, DATA_DIR_NAME, ENDPOINT_NAME, TIMEOUT_NAME
from lib.store import HistoryStore
from tests.app_testing import (
    assert_healthy,
    errors,
    finish_jobs,
    genuine_workspace_id,
    open_app,
    png_bytes,
    studio_secrets,
    texts,
    workspace_of,
)
from tests.fault_server import FaultServer

TOKEN = "sk_test_fault_token_5f3a"

# fault -> words the message must contain (request ids come from the fault server's X-Request-Id).
FAULTS = {
    "401": ["API key is missing or invalid", "API key", "sidebar", "secrets.toml"],
    "402": ["out of credits", "billing dashboard"],
    "429": ["Too many requests", "wait"],
    "500": ["trouble", "req_fault_500"],
    "502-html": ["trouble", "req_fault_502"],
    "slow": ["did not answer within 1 seconds"],
    "html": ["isn't valid JSON", "req_fault_200"],
    "no-image-url": ["without an image"],
    "drop": ["image service"],
    "not-an-image": ["not a readable image"],
}


@pytest.fixture
def seeded(data_dir: Path) -> tuple[str, str]:
    """A workspace that already holds one image: (workspace id, entry id)."""
    workspace = genuine_workspace_id(data_dir)  # the app adopts only ids it minted
    with HistoryStore(data_dir) as store:
        entry = store.add(workspace, "generation", prompt="made before the trouble", image_png=png_bytes(),
                          model="flux-2-pro", aspect_ratio="1:1", credits_used=4)
    return workspace, entry.id


def secrets_for(server: FaultServer, fault: str, data_dir: Path) -> dict[str, object]:
    """Secrets that send the app to one fault, with a short timeout so "slow" is a timeout."""
    return {API_KEY_NAME: TOKEN, ENDPOINT_NAME: server.endpoint(fault), DATA_DIR_NAME: str(data_dir),
            TIMEOUT_NAME: 1}


def assert_history_intact(data_dir: Path, seeded: tuple[str, str]) -> None:
    """The earlier entry and its image are still there, and nothing was added."""
    workspace, entry_id = seeded
    with HistoryStore(data_dir) as store:
        assert [entry.id for entry in store.list(workspace)] == [entry_id]
        assert store.image_png(workspace, entry_id)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_generate_failure_is_explained(fault_server, data_dir, seeded, fault: str) -> None:
    """Generate against a failing server: a plain message, the form as it was, the history intact."""
    at = open_app(secrets_for(fault_server, fault, data_dir), workspace=seeded[0])
    at.text_area(key="generate_prompt").set_value("a quiet harbour")
    at.selectbox(key="generate_model").set_value("flux-2-klein-9b")
    at.segmented_control(key="generate_aspect_ratio").set_value("4:3")
    finish_jobs(at.button(key="generate_run").click().run())

    assert_healthy(at)
    [message] = errors(at)
    for words in FAULTS[fault]:
        assert words in message, message
    assert TOKEN not in message
    assert at.text_area(key="generate_prompt").value == "a quiet harbour"
    assert at.selectbox(key="generate_model").value == "flux-2-klein-9b"
    assert at.segmented_control(key="generate_aspect_ratio").value == "4:3"
    assert_history_intact(data_dir, seeded)

    at.switch_page("app_pages/history.py").run()
    assert_healthy(at)
    assert any("made before the trouble" in text for text in texts(at)), "History lost the earlier item"


@pytest.mark.parametrize("fault", ["401", "402", "500"])
def test_enhance_failure_is_explained(fault_server, data_dir, seeded, fault: str) -> None:
    """Enhance prompt against a failing server: a plain message and the history intact."""
    at = open_app(secrets_for(fault_server, fault, data_dir), page="enhance", workspace=seeded[0])
    at.text_area(key="enhance_prompt_text").set_value("a dog on a beach")
    at.button(key="enhance_run").click().run()
    assert_healthy(at)
    [message] = errors(at)
    assert FAULTS[fault][0] in message
    assert at.text_area(key="enhance_prompt_text").value == "a dog on a beach"
    assert_history_intact(data_dir, seeded)


@pytest.mark.parametrize("fault", ["402", "429", "slow"])
def test_remove_background_failure_is_explained(fault_server, data_dir, seeded, samples_dir, fault) -> None:
    """Remove background against a failing server: a plain message and the history intact."""
    at = open_app(secrets_for(fault_server, fault, data_dir), page="remove_background", workspace=seeded[0])
    photo = (samples_dir / "rocket.jpg").read_bytes()
    at.file_uploader(key="remove_background_image").set_value(("rocket.jpg", photo, "image/jpeg")).run()
    at.button(key="remove_background_run").click().run()
    assert_healthy(at)
    [message] = errors(at)
    assert FAULTS[fault][0] in message
    assert_history_intact(data_dir, seeded)


def test_compare_keeps_the_model_that_worked(fresh_local_studio, data_dir, seeded) -> None:
    """When one model fails while comparing, the other's result is shown and kept, the failure in its slot."""
    studio = fresh_local_studio(starting_credits=3)  # klein (1) can pay, flux-2-pro (4) meets a 402
    at = open_app(studio_secrets(studio, data_dir), workspace=seeded[0])
    at.text_area(key="generate_prompt").set_value("two lighthouses")
    at.toggle(key="generate_compare").set_value(True)
    finish_jobs(at.button(key="generate_run").click().run())

    assert_healthy(at)
    [message] = errors(at)
    assert "out of credits" in message
    assert [header.value for header in at.main.subheader] == ["flux-2-pro", "flux-2-klein-9b"]
    assert [button.label for button in at.get("download_button")] == ["Download PNG"]
    with HistoryStore(data_dir) as store:
        assert [entry.model for entry in store.list(seeded[0])] == ["flux-2-klein-9b", "flux-2-pro"]


def _block_saving(data_dir: Path, workspace: str) -> Path:
    """Put a file where the workspace's image folder goes, so every save to History fails (even as root)."""
    blocked = data_dir / "images" / workspace
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_bytes(b"")
    return blocked


def test_a_result_history_cannot_keep_stays_downloadable(secrets, data_dir: Path) -> None:
    """A paid image History can't save: a plain message, the image shown and downloadable until the next."""
    at = open_app(secrets)
    blocked = _block_saving(data_dir, workspace_of(at))
    at.text_area(key="generate_prompt").set_value("a storm at sea")
    finish_jobs(at.button(key="generate_run").click().run())

    assert_healthy(at)
    [message] = errors(at)
    assert "could not" in message and "Traceback" not in message
    assert [button.label for button in at.get("download_button")] == ["Download PNG"]
    assert any("Not in History" in caption.value for caption in at.caption)
    with HistoryStore(data_dir) as store:
        assert store.count(workspace_of(at)) == 0

    blocked.unlink()
    finish_jobs(at.button(key="generate_run").click().run())  # the next result replaces it, and is in History
    assert_healthy(at)
    assert errors(at) == []
    assert not any("Not in History" in caption.value for caption in at.caption)
    assert [button.label for button in at.get("download_button")] == ["Download PNG"]


def test_a_cut_out_history_cannot_keep_stays_downloadable(secrets, data_dir: Path, samples_dir: Path) -> None:
    """Remove background when History can't save: a plain message, the cut-out shown with both downloads."""
    at = open_app(secrets, page="remove_background")
    _block_saving(data_dir, workspace_of(at))
    photo = (samples_dir / "chelsea.jpg").read_bytes()
    at.file_uploader(key="remove_background_image").set_value(("chelsea.jpg", photo, "image/jpeg")).run()
    at.button(key="remove_background_run").click().run()

    assert_healthy(at)
    [message] = errors(at)
    assert "could not" in message
    assert [header.value for header in at.main.subheader] == ["Before", "After"]
    labels = {button.label for button in at.get("download_button")}
    assert {"Download PNG (transparent)", "Download JPG on #ffffff"} <= labels
    assert any("Not in History" in caption.value for caption in at.caption)
