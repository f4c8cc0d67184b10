"""Generate: a prompt (and optional input images) becomes an image, or one per model to compare them."""

import streamlit as st

from lib.ui import generate_form

generate_form.prepare_state()
st.title("Generate")

form_column, output_column = st.columns([5, 6], gap="large")
with form_column:
    request = generate_form.form()
    generate_form.act(request)  # its messages go under the button pressed
with output_column:
    generate_form.results_panel()
