"""Generate: a prompt (and optional input images) becomes up to four images, or one per model to compare."""

import streamlit as st

from lib.ui import generate_form

generate_form.prepare_state()
st.title("Generate")

form_column, output_column = st.columns([5, 6], gap="large")
with output_column:
    # Filled while a click's images arrive, then with the finished results (and their buttons).
    results_area = st.empty()
with form_column:
    request = generate_form.form()
    generate_form.act(request, results_area)  # its messages go under the button pressed
with results_area.container():
    generate_form.results_panel()
