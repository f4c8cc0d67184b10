"""The connection panel: offline demo without a key, configured keys, and a pasted key kept to its session."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lib.config import API_KEY_NAME, DATA_DIR_NAME, ENDPOINT_NAME
from lib.history_entry import new_workspace_id
from lib.local_studio import StudioConfig
from lib.store import HistoryStore
from lib.ui.connection_panel import OFFLINE_BADGE
from tests.app_testing import (
    assert_healthy,
    errors,
    finish_jobs,
    is_genuine,
    open_app,
    texts,
    workspace_of,
)

PASTED_KEY = "sk_test_pasted_7c1e9d"


def rendered(at) -> str:
    """Everything the app sent to the browser on the last run, as text (element protos included)."""
    return "\n".join(str(node.proto) for node in _nodes(at._tree) if getattr(node, "proto", None) is not None)


def _nodes(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def files_under(folder: Path) -> bytes:
    """The bytes of every file in a folder tree (history database and images)."""
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def test_offline_demo_without_any_key(data_dir: Path) -> None:
    """No key anywhere: the app starts its own Local Studio, says so, and generates previews."""
    at = open_app({DATA_DIR_NAME: str(data_dir)})
    assert_healthy(at)
    assert any(info.value == OFFLINE_BADGE for info in at.sidebar.info)
    assert any("Endpoint: `http://127.0.0.1:" in caption.value for caption in at.sidebar.caption)
    at.text_area(key="generate_prompt").set_value("a paper boat on a pond")
    finish_jobs(at.button(key="generate_run").click().run())
    assert_healthy(at)
    assert not errors(at)
    assert any("Preview from the offline Local Studio" in text for text in texts(at))
    with HistoryStore(data_dir) as store:
        assert store.count(workspace_of(at)) == 1


def test_configured_key_shows_endpoint_never_the_key(secrets, local_studio) -> None:
    """A key in secrets: the panel names its source and the endpoint; the key itself is never sent."""
    at = open_app(secrets)
    assert not any(info.value == OFFLINE_BADGE for info in at.sidebar.info)
    assert any(local_studio.endpoint in caption.value for caption in at.sidebar.caption)
    at.text_area(key="generate_prompt").set_value("a paper boat on a pond")
    finish_jobs(at.button(key="generate_run").click().run())
    assert local_studio.api_key not in rendered(at)
    assert any("Credits remaining: **" in markdown.value for markdown in at.sidebar.markdown)


def test_configured_key_is_not_checked_until_a_call_works(secrets) -> None:
    """A configured key shows "not checked" before any call, and that it works (and when) after one."""
    at = open_app(secrets)
    [badge] = at.sidebar.info
    assert badge.value.startswith("The API key from secrets — not checked yet")
    assert not at.sidebar.success
    at.text_area(key="generate_prompt").set_value("a paper boat on a pond")
    finish_jobs(at.button(key="generate_run").click().run())
    assert_healthy(at)
    assert not at.sidebar.info
    [badge] = at.sidebar.success
    assert re.fullmatch(r"The API key from secrets works: the server accepted it at \d\d:\d\d:\d\d UTC\.",
                        badge.value), badge.value


def test_key_from_the_environment(monkeypatch, local_studio, data_dir: Path) -> None:
    """Without secrets, IMAGE_STUDIO_API_KEY and IMAGE_STUDIO_ENDPOINT from the environment are used."""
    monkeypatch.setenv(API_KEY_NAME, local_studio.api_key)
    monkeypatch.setenv(ENDPOINT_NAME, local_studio.endpoint)
    at = open_app({DATA_DIR_NAME: str(data_dir)})
    [badge] = at.sidebar.info
    assert badge.value.startswith("The API key from environment — not checked yet")
    assert any(local_studio.endpoint in caption.value for caption in at.sidebar.caption)


@pytest.fixture
def studio_for_pasted_key(fresh_local_studio):
    """A Local Studio that accepts only the pasted key."""
    return fresh_local_studio(StudioConfig(api_keys=(PASTED_KEY,)))


def test_pasted_key_is_used_for_this_session_only(studio_for_pasted_key, data_dir: Path) -> None:
    """A pasted key overrides the default in its own session, is never sent back, and stays out of history."""
    secrets = {ENDPOINT_NAME: studio_for_pasted_key.endpoint, DATA_DIR_NAME: str(data_dir)}
    at = open_app(secrets)
    at.text_input(key="connection_api_key_field").input(PASTED_KEY).run()
    assert_healthy(at)
    assert not any(widget.key == "connection_api_key_field" for widget in at.text_input)  # field replaced
    assert any("Your own API key (this browser tab only) — not checked yet" in info.value
               for info in at.sidebar.info)
    assert any(studio_for_pasted_key.endpoint in caption.value for caption in at.sidebar.caption)

    at.text_area(key="generate_prompt").set_value("a kite over the dunes")
    finish_jobs(at.button(key="generate_run").click().run())
    assert_healthy(at)
    assert not errors(at)
    assert any(success.value.startswith("Your own API key (this browser tab only) works")
               for success in at.sidebar.success)
    assert PASTED_KEY not in rendered(at)
    at.switch_page("app_pages/history.py").run()
    assert PASTED_KEY not in rendered(at)
    assert PASTED_KEY.encode() not in files_under(data_dir)
    with HistoryStore(data_dir) as store:
        workspace = workspace_of(at)
        assert PASTED_KEY.encode() not in store.export_zip(workspace)
        assert store.count(workspace) == 1

    other = open_app(secrets)  # another browser session on the same server
    assert any(info.value == OFFLINE_BADGE for info in other.sidebar.info)
    assert any(widget.key == "connection_api_key_field" for widget in other.text_input)

    at.switch_page("app_pages/generate.py").run()
    at.button(key="connection_forget_key").click().run()
    assert any(info.value == OFFLINE_BADGE for info in at.sidebar.info)


def test_wrong_pasted_key_says_where_to_fix_it(studio_for_pasted_key, data_dir: Path) -> None:
    """A pasted key the server refuses gives the 401 message pointing at the API key field."""
    at = open_app({ENDPOINT_NAME: studio_for_pasted_key.endpoint, DATA_DIR_NAME: str(data_dir)})
    at.text_input(key="connection_api_key_field").input("sk_test_not_this_one").run()
    at.text_area(key="generate_prompt").set_value("a kite over the dunes")
    finish_jobs(at.button(key="generate_run").click().run())
    assert_healthy(at)
    [message] = errors(at)
    assert "API key is missing or invalid" in message and "sidebar" in message
    [badge] = at.sidebar.error  # the sidebar no longer says the key is connected
    assert "refused" in badge.value and "paste it again" in badge.value
    assert not at.sidebar.success
    assert any(widget.key == "connection_api_key_field" for widget in at.sidebar.text_input)  # to fix it
    assert "sk_test_not_this_one" not in rendered(at)

    at.text_input(key="connection_api_key_field").input(PASTED_KEY).run()  # a good key replaces it
    [badge] = at.sidebar.info
    assert "not checked yet" in badge.value
    finish_jobs(at.button(key="generate_run").click().run())
    assert any(" works: " in success.value for success in at.sidebar.success)


def test_leaving_the_offline_demo_is_said_in_the_main_area(studio_for_pasted_key, data_dir: Path) -> None:
    """Pasting a key that moves the tab off the offline Local Studio says so by toast and in the main area."""
    at = open_app({ENDPOINT_NAME: studio_for_pasted_key.endpoint, DATA_DIR_NAME: str(data_dir)})
    assert not at.main.info
    at.text_input(key="connection_api_key_field").input(PASTED_KEY).run()
    [toast] = at.toast
    assert studio_for_pasted_key.endpoint in toast.value
    [notice] = at.main.info
    assert "off the offline Local Studio" in notice.value and studio_for_pasted_key.endpoint in notice.value
    at.text_area(key="generate_prompt").set_value("a kite over the dunes")
    at.run()
    assert not at.toast  # said once
    assert any("off the offline Local Studio" in info.value for info in at.main.info)  # kept until seen
    at.button(key="connection_switch_seen").click().run()
    assert not any("off the offline Local Studio" in info.value for info in at.main.info)
    at.button(key="connection_forget_key").click().run()
    assert any(info.value == OFFLINE_BADGE for info in at.sidebar.info)


def test_unusable_pasted_key_is_explained(data_dir: Path) -> None:
    """A pasted "key" with spaces inside is refused in plain words, before anything is sent."""
    at = open_app({DATA_DIR_NAME: str(data_dir)})
    at.text_input(key="connection_api_key_field").input("sk_test with spaces").run()
    at.text_area(key="generate_prompt").set_value("a kite over the dunes")
    finish_jobs(at.button(key="generate_run").click().run())
    assert_healthy(at)
    [message] = errors(at)
    assert "API key" in message


def test_workspace_id_in_url_reopens_history(secrets, data_dir: Path) -> None:
    """The workspace id goes into the URL; a new session with it sees the same history, others do not."""
    at = open_app(secrets)
    workspace = workspace_of(at)
    at.text_area(key="generate_prompt").set_value("a red door")
    finish_jobs(at.button(key="generate_run").click().run())
    at.switch_page("app_pages/history.py").run()
    assert workspace_of(at) == workspace  # written back on every page

    reloaded = open_app(secrets, page="history", workspace=workspace)
    assert workspace_of(reloaded) == workspace
    assert sum(button.label == "Reuse" for button in reloaded.button) == 1

    stranger = open_app(secrets, page="history")
    assert workspace_of(stranger) != workspace
    assert not any(button.label == "Reuse" for button in stranger.button)

    forged = open_app(secrets, page="history", workspace="../../etc/passwd")
    assert workspace_of(forged) not in (workspace, "../../etc/passwd")
    assert not any(button.label == "Reuse" for button in forged.button)


def test_planted_workspace_link_opens_a_fresh_workspace(secrets, data_dir: Path) -> None:
    """A ?ws= id the app did not mint (however well-formed) is refused: a fresh, genuine id replaces it."""
    planted = new_workspace_id()  # the shape of an id, handed over by someone who wants to read it later
    at = open_app(secrets, page="history", workspace=planted)
    assert_healthy(at)
    opened = workspace_of(at)
    assert opened != planted and is_genuine(opened, data_dir)
    assert any("Nothing here yet" in info.value for info in at.info)
    at.switch_page("app_pages/generate.py").run()
    at.text_area(key="generate_prompt").set_value("my own work")
    finish_jobs(at.button(key="generate_run").click().run())
    assert workspace_of(at) == opened
    with HistoryStore(data_dir) as store:
        assert store.count(planted) == 0  # whoever planted the link finds nothing under it
        assert [entry.prompt for entry in store.list(opened)] == ["my own work"]

    again = open_app(secrets, page="history", workspace=opened)  # a genuine link still reopens its history
    assert workspace_of(again) == opened
    assert any(button.label == "Reuse" for button in again.button)
