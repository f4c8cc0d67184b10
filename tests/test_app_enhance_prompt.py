"""The Enhance prompt page through AppTest, against a real Local Studio."""

from __future__ import annotations

from pathlib import Path

from lib.store import HistoryStore
from tests.app_testing import (
    assert_healthy,
    errors,
    finish_jobs,
    open_app,
    workspace_of,
)


def test_enhance_shows_both_prompts_and_keeps_them(secrets, data_dir: Path) -> None:
    """Enhance shows original and enhanced side by side (copyable), highlights additions, saves to history."""
    at = open_app(secrets, page="enhance")
    assert [title.value for title in at.title] == ["Enhance prompt"]
    at.text_area(key="enhance_prompt_text").set_value("a dog on a beach")
    at.button(key="enhance_run").click().run()

    assert_healthy(at)
    assert [header.value for header in at.main.subheader] == ["Original", "Enhanced"]
    original, enhanced = (code.value for code in at.code)
    assert original == "a dog on a beach"
    assert "dog" in enhanced and len(enhanced) > len(original)
    highlight = str(at.get("html")[0].proto)
    assert "<mark" in highlight
    with HistoryStore(data_dir) as store:
        [entry] = store.list(workspace_of(at))
    assert (entry.kind, entry.prompt, entry.text) == ("enhancement", original, enhanced)
    assert entry.credits_used == 0


def test_use_in_generate_fills_the_generate_prompt(secrets) -> None:
    """Use in Generate switches to Generate with the enhanced prompt in the Prompt box."""
    at = open_app(secrets, page="enhance")
    at.text_area(key="enhance_prompt_text").set_value("a castle in fog")
    at.button(key="enhance_run").click().run()
    enhanced = at.code[1].value
    at.button(key="enhance_use").click().run()

    assert_healthy(at)
    assert [title.value for title in at.title] == ["Generate"]
    assert at.text_area(key="generate_prompt").value == enhanced
    assert any("press Generate" in success.value for success in at.success)
    finish_jobs(at.button(key="generate_run").click().run())
    assert not errors(at)


def test_empty_prompt_is_explained(secrets, data_dir: Path) -> None:
    """Enhance with nothing typed explains and saves nothing."""
    at = open_app(secrets, page="enhance")
    at.button(key="enhance_run").click().run()
    assert any("Write a prompt first." in warning.value for warning in at.warning)
    with HistoryStore(data_dir) as store:
        assert store.count(workspace_of(at)) == 0
