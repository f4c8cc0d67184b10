"""The Enhance prompt page's parts: run an enhancement, and show the original beside the enhanced text."""

from __future__ import annotations

import streamlit as st

from lib.contract import prompt_problem
from lib.errors import ImageStudioError
from lib.ui import result_cards, session
from lib.ui.generate_form import open_in_generate

LAST = "enhance_last_entry"  # id of the latest enhancement: the texts are read from History


def enhance(prompt: str) -> None:
    """Enhance the prompt (free) and remember the History entry; a problem shows right here."""
    if problem := prompt_problem(prompt):
        st.warning(problem, icon=":material/edit_note:")
        return
    try:
        with st.spinner("Enhancing…"):
            outcome = session.current_workspace().enhance_prompt(prompt)
    except ImageStudioError as error:
        result_cards.show_error(error)
        return
    session.count_credits(outcome)
    st.session_state[LAST] = outcome.entry.id


def latest_comparison() -> None:
    """The latest enhancement beside its original, what was added, and a way to Generate with it."""
    if LAST not in st.session_state:
        return
    entry = session.history_store().get(session.workspace_id(), st.session_state[LAST])
    if entry is None or not entry.text:
        return
    original, enhanced = st.columns(2, gap="large")
    with original:
        st.subheader("Original")
        st.code(entry.prompt, language=None, wrap_lines=True)
    with enhanced:
        st.subheader("Enhanced")
        st.code(entry.text, language=None, wrap_lines=True)  # the code box has a copy button
    st.markdown("**What was added** (highlighted)")
    result_cards.show_additions(entry.prompt, entry.text)
    if st.button("Use in Generate", key="enhance_use", icon=":material/arrow_forward:"):
        open_in_generate({"prompt": entry.text}, "The enhanced prompt is in the Prompt box: press Generate.")
