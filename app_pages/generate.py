"""Generate: a prompt (and optional input images) becomes up to four images, or one per model to compare."""

import streamlit as st

from lib.ui import generate_form, jobs_panel

generate_form.prepare_state()
st.title("Generate")

form_column, output_column = st.columns([5, 6], gap="large")
with form_column:
    request = generate_form.form()
    generate_form.act(request)  # starts jobs and returns at once; its messages go under the button pressed
with output_column:
    jobs_panel.in_progress_panel()  # refreshes itself while jobs run
    generate_form.results_panel()
