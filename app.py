"""Image Studio: the frame every page shares (page setup, workspace, connection sidebar, navigation)."""

import streamlit as st

from lib.ui import connection_panel, session, sign_in

st.set_page_config(page_title="Image Studio", page_icon=":material/palette:", layout="wide")

# The pages live in app_pages/, not pages/: Streamlit treats a folder named pages/ as an old-style
# multipage app until the first st.navigation call of the process, so a fresh server's first visitor
# arriving on a bookmarked /history would get that page without this frame (no sidebar, no workspace).
# With sign-in configured, nobody gets past this line until let in (deep links included).
page = sign_in.navigation([
    st.Page("app_pages/generate.py", title="Generate", icon=":material/brush:", default=True),
    st.Page("app_pages/enhance_prompt.py", title="Enhance prompt", icon=":material/auto_awesome:"),
    st.Page("app_pages/remove_background.py", title="Remove background", icon=":material/content_cut:"),
    st.Page("app_pages/history.py", title="History", icon=":material/photo_library:"),
])
# Every run of every page: the workspace id goes back into the URL, so a reload keeps the history.
session.workspace_id()
member_area = st.sidebar.container()
connection_area = st.sidebar.container()
credits_slot = st.sidebar.empty()
connection_panel.render_switch_notice()
page.run()
# Drawn after the page ran, so the key's status and the totals include the request it just made.
connection_panel.render_sidebar(connection_area)
connection_panel.render_credits(credits_slot)
sign_in.render_member(member_area, uses_own_key=connection_panel.uses_own_key())
