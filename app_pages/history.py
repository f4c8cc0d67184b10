"""History: everything this workspace made, newest first; view, download, reuse or delete each item."""

import streamlit as st

from lib import ui_history, ui_workspace

st.title("History")
st.caption("Kept on this computer under the link in your address bar: bookmark it to come back later.")
store = ui_workspace.history_store()
workspace_id = ui_workspace.workspace_id()
ui_history.download_all(store, workspace_id)
ui_history.gallery(store, workspace_id)
