"""History: everything this workspace made, newest first; view, download, reuse or delete each item."""

import streamlit as st

from lib.ui import history_gallery, session, sign_in

st.title("History")
if sign_in.current_member() is not None:
    st.caption("Kept for your account: it follows you to any browser or device where you sign in.")
else:
    st.caption("Kept under the private link in your address bar: bookmark it to come back later.")
store = session.history_store()
workspace_id = session.workspace_id()
history_gallery.download_all(store, workspace_id)
history_gallery.gallery(store, workspace_id)
