"""Enhance prompt: a short idea becomes a detailed prompt (free), shown beside the original."""

import streamlit as st

from lib.contract import prompt_problem
from lib.errors import ImageStudioError
from lib.ui import result_cards, session
from lib.ui.generate_form import open_in_generate
from lib.ui.prompt_box import prompt_box, prompt_caption

LAST = "enhance_last_entry"  # id of the latest enhancement: the texts are read from History

st.title("Enhance prompt")
st.caption("Turn a short idea into a detailed prompt for image generation. Free: it uses no credits.")

prompt = prompt_box(key="enhance_prompt_text", height=120, placeholder="a dog on a beach",
                    help="Ctrl+Enter enhances.")
prompt_caption(st.empty(), prompt, "enhances (free)")

enhance = st.button("Enhance", key="enhance_run", type="primary", icon=":material/auto_awesome:",
                    shortcut="Ctrl+Enter")
if enhance:
    if problem := prompt_problem(prompt):
        st.warning(problem, icon=":material/edit_note:")
    else:
        try:
            with st.spinner("Enhancing…"):
                outcome = session.current_workspace().enhance_prompt(prompt)
        except ImageStudioError as error:
            result_cards.show_error(error)
        else:
            session.count_credits(outcome)
            st.session_state[LAST] = outcome.entry.id

entry = None
if LAST in st.session_state:
    entry = session.history_store().get(session.workspace_id(), st.session_state[LAST])
if entry is not None and entry.text:
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
