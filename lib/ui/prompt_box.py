"""The prompt box of Generate and Enhance prompt: its character count, and what Ctrl+Enter does there."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from lib.contract import MAX_PROMPT_CHARS


def prompt_box(*, key: str, height: int, placeholder: str, help: str) -> str:
    """A Prompt text area without Streamlit's "Press Ctrl+Enter to apply": on our pages that key acts."""
    # The hint is drawn by Streamlit inside the box; only CSS can hide it. Our caption says what the key does.
    st.html(f"<style>.st-key-{key} [data-testid='InputInstructions'] {{display: none}}</style>")
    return st.text_area("Prompt", key=key, height=height, persist_state="session", placeholder=placeholder,
                        help=help) or ""


def prompt_caption(slot: DeltaGenerator, prompt: str, ctrl_enter: str) -> None:
    """The count ("12 / 10,000 characters", red when too long) and what Ctrl+Enter does, e.g. "generates"."""
    # The count updates whenever the box commits (Ctrl+Enter, or leaving it). max_chars would count while
    # typing, but it silently cuts longer text (a paste, a restored prompt): we say so and send nothing.
    count = f"{len(prompt):,} / {MAX_PROMPT_CHARS:,} characters"
    count = f":red[{count} — too long]" if len(prompt) > MAX_PROMPT_CHARS else count
    slot.caption(f"{count} · Ctrl+Enter {ctrl_enter}")
