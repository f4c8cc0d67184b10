"""Enhance prompt: a short idea becomes a detailed prompt (free), shown beside the original."""

import streamlit as st

from lib.ui import enhance_view
from lib.ui.prompt_box import prompt_box, prompt_caption

st.title("Enhance prompt")
st.caption("Turn a short idea into a detailed prompt for image generation. Free: it uses no credits.")

prompt = prompt_box(key="enhance_prompt_text", height=120, placeholder="a dog on a beach",
                    help="Ctrl+Enter enhances.")
prompt_caption(st.empty(), prompt, "enhances (free)")
if st.button("Enhance", key="enhance_run", type="primary", icon=":material/auto_awesome:",
             shortcut="Ctrl+Enter"):
    enhance_view.enhance(prompt)
enhance_view.latest_comparison()
