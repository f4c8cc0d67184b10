"""History: everything this workspace made, newest first; view, download, reuse or delete each item."""

import streamlit as st

from lib.ui import history_gallery, session

st.title("History")
st.caption("Kept on this computer under the link in your address bar: bookmark it to come back later.")
store = session.history_store()
workspace_id = session.workspace_id()
history_gallery.download_all(store, workspace_id)
history_gallery.gallery(store, workspace_id)
