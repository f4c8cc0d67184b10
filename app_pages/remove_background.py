"""Remove background: a photo becomes a transparent cut-out, shown before and after on a checkerboard."""

import streamlit as st

from lib.contract import BACKGROUND_REMOVAL_CREDITS as COST
from lib.errors import ImageStudioError
from lib.ui import cutout_view, result_cards, session, upload_checks
from lib.workspace import MAX_UPLOAD_MB, UPLOAD_TYPES

LAST = "remove_background_last"  # {"entry_id", "file_id", "preview"} of the latest cut-out: ids only

st.title("Remove background")
st.caption(f"Cut the subject out of a photo: you get a PNG with a transparent background ({COST} credits).")

file = st.file_uploader("Image", type=list(UPLOAD_TYPES), key="remove_background_image",
                        max_upload_size=MAX_UPLOAD_MB, help="A photo (PNG, JPEG or WebP).")
uploads = upload_checks.checked_uploads(file, "remove_background_checks")
upload = uploads[0] if uploads else None
if upload and upload.problem:
    st.error(upload.problem, icon=":material/broken_image:")
ready = upload is not None and upload.problem is None
run = st.button(f"Remove background ({COST} credits)", key="remove_background_run", type="primary",
                icon=":material/content_cut:", disabled=not ready,
                help=None if ready else "Upload a photo first.")
if run:
    try:
        with st.spinner("Removing the background…", show_time=True):
            outcome = session.current_workspace().remove_background(upload.image)
    except ImageStudioError as error:
        result_cards.show_error(error)
    else:
        session.count_credits(outcome)
        st.session_state[LAST] = {"entry_id": outcome.entry.id, "file_id": file.file_id,
                                  "preview": outcome.is_preview}

# The latest cut-out stays on show until another photo is chosen (it is in History either way).
last = st.session_state.get(LAST)
if last and ready and file.file_id != last["file_id"]:
    last = None
store = session.history_store()
entry = store.get(session.workspace_id(), last["entry_id"]) if last else None
cutout_view.before_and_after(store, upload.image.data if ready else None, entry,
                           is_preview=bool(last and last["preview"]))
