"""Helpers for the app's AppTest tests: open the app with secrets for a test, find what a person sees."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from lib.config import API_KEY_NAME, DATA_DIR_NAME, ENDPOINT_NAME, SHARED_MODE_NAMES, TIMEOUT_NAME
from lib.local_studio import LocalStudioHandle
from lib.ui.markdown_text import WORD_JOINER
from lib.workspace_links import is_genuine_workspace_id, mint_workspace_id, stored_secret

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGES = {
    "generate": "app_pages/generate.py",
    "enhance": "app_pages/enhance_prompt.py",
    "remove_background": "app_pages/remove_background.py",
    "history": "app_pages/history.py",
}
# Generous for a cold first run on a busy machine; a run returns as soon as it finishes.
RUN_TIMEOUT_S = 60
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # a backslash before ASCII punctuation


def forget_configured_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test says its own connection: none may come from the machine's environment."""
    for name in (API_KEY_NAME, ENDPOINT_NAME, DATA_DIR_NAME, TIMEOUT_NAME, *SHARED_MODE_NAMES):
        monkeypatch.delenv(name, raising=False)


def studio_secrets(studio: LocalStudioHandle, data_dir: Path) -> dict[str, Any]:
    """Secrets that point the app at a Local Studio, with a history folder of the test's own."""
    return {API_KEY_NAME: studio.api_key, ENDPOINT_NAME: studio.endpoint, DATA_DIR_NAME: str(data_dir)}


def open_app(secrets: dict[str, Any], *, page: str | None = None, workspace: str | None = None) -> AppTest:
    """The app run once with these secrets (never the machine's secrets.toml), optionally on a page."""
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.secrets.update(secrets)
    if workspace:
        at.query_params["ws"] = workspace
    at.run()
    if page:
        at.switch_page(PAGES[page]).run()
    return at


def genuine_workspace_id(data_dir: Path) -> str:
    """A workspace id as the app mints it for this history folder (it adopts no other id from ?ws=)."""
    return mint_workspace_id(stored_secret(data_dir))


def is_genuine(workspace_id: str, data_dir: Path) -> bool:
    """True when the app minted this workspace id for this history folder."""
    return is_genuine_workspace_id(workspace_id, stored_secret(data_dir))


def as_read(markdown: str) -> str:
    """Markdown source as a person reads it: backslash escapes resolved, invisible word joiners gone."""
    return _ESCAPED.sub(r"\1", markdown).replace(WORD_JOINER, "")


def texts(at: AppTest) -> list[str]:
    """Every message, caption and Markdown text on screen (main area and sidebar), as read."""
    found: list[str] = []
    for kind in ("error", "warning", "info", "success", "caption", "markdown", "title", "subheader"):
        found.extend(as_read(str(element.value)) for element in getattr(at, kind))
    found.extend(str(element.value) for element in at.code)  # code blocks show their text verbatim
    return found


def errors(at: AppTest) -> list[str]:
    """The error boxes in the main area, as read (the sidebar's key badge turns red by itself after a 401)."""
    return [as_read(str(element.value)) for element in at.main.error]


def assert_healthy(at: AppTest) -> None:
    """No exception (no traceback) reached the screen."""
    assert not at.exception, [element.value for element in at.exception]


def workspace_of(at: AppTest) -> str:
    """The workspace id the app put in the URL."""
    return at.query_params["ws"][0] if isinstance(at.query_params["ws"], list) else at.query_params["ws"]


def png_bytes(size: tuple[int, int] = (320, 200), colour: str = "#3366cc", mode: str = "RGB") -> bytes:
    """A small real image as PNG bytes."""
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(path: Path) -> bytes:
    """A sample photo's bytes."""
    return path.read_bytes()


def finish_jobs(at: AppTest, deadline_s: float = RUN_TIMEOUT_S) -> AppTest:
    """Rerun the page until no Generate job is queued or running (they run in the background)."""
    import time

    end = time.monotonic() + deadline_s
    while any(button.label == "Cancel" for button in at.button):
        assert time.monotonic() < end, "Generate jobs did not finish in time"
        time.sleep(0.1)
        at.run()
    return at
