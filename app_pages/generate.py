"""Generate: a prompt (and optional input images) becomes an image, or one per model to compare them."""

import streamlit as st

from lib import ui_generate

ui_generate.prepare_state()
st.title("Generate")

form_column, output_column = st.columns([5, 6], gap="large")
with form_column:
    request = ui_generate.form()
    if request.enhance:
        ui_generate.enhance_in_place(request)
if request.generate:
    with output_column:
        ui_generate.run(request)
with output_column:
    ui_generate.results_panel()
