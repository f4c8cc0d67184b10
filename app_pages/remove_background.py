"""Remove background: a photo becomes a transparent cut-out, shown before and after on a checkerboard."""

import streamlit as st

from lib.contract import BACKGROUND_REMOVAL_CREDITS, credits_text
from lib.ui import cutout_view, result_cards, upload_checks
from lib.workspace import MAX_BULK_PHOTOS, MAX_UPLOAD_MB, UPLOAD_TYPES

COST = credits_text(BACKGROUND_REMOVAL_CREDITS)

st.title("Remove background")
st.caption(f"Cut the subject out of a photo: you get a PNG with a transparent background ({COST} a photo). "
           f"Several photos go at once.")

files = st.file_uploader("Image", type=list(UPLOAD_TYPES), key="remove_background_image",
                         accept_multiple_files=True, max_upload_size=MAX_UPLOAD_MB,
                         help=f"One photo, or up to {MAX_BULK_PHOTOS} at once (PNG, JPEG or WebP).")
uploads = upload_checks.checked_uploads(files, "remove_background_checks")
if cutout_view.offers_history_photo(uploaded=bool(files)):  # an image sent from History, until replaced
    cutout_view.history_photo_cutout()
elif len(uploads) > 1:  # several photos go at once, each shown small beside its cut-out
    cutout_view.bulk_cutouts(uploads, [each.file_id for each in files])
else:
    file = files[0] if files else None
    upload = uploads[0] if uploads else None
    if upload and upload.problem:
        st.error(upload.problem, icon=":material/broken_image:")
    ready = upload is not None and upload.problem is None
    run = st.button(f"Remove background ({COST})", key="remove_background_run", type="primary",
                    icon=":material/content_cut:", disabled=not ready,
                    help=None if ready else "Upload a photo first.")
    if run and upload and file:
        cutout_view.remove_background(upload.image, file.file_id)  # a message, if any, shows right here
    if warning := result_cards.too_few_credits(BACKGROUND_REMOVAL_CREDITS):
        st.warning(warning, icon=":material/savings:")
    cutout_view.before_and_after(upload.image.data if ready and upload else None,
                                 file.file_id if file else None)
