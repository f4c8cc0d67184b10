"""This browser session's workspace: its id in the page URL, the shared history store, and its actions."""

from __future__ import annotations

import os

import streamlit as st

from lib.config import resolve_data_dir
from lib.errors import AuthenticationError, InsufficientCreditsError
from lib.store import HistoryStore
from lib.ui import connection_panel, sign_in
from lib.workspace import HistorySaveError, Outcome, Workspace
from lib.workspace_links import open_workspace_link, workspace_secret

WORKSPACE_PARAM = "ws"
_WORKSPACE_ID = "workspace_id"


@st.cache_resource(show_spinner=False)
def _open_store(root: str) -> HistoryStore:
    """One store per data folder, shared by all sessions (it is thread-safe; ids keep workspaces apart)."""
    return HistoryStore(root)


def history_store() -> HistoryStore:
    """The history store in the configured data folder."""
    return _open_store(str(resolve_data_dir(st.secrets, os.environ)))


def workspace_id() -> str:
    """This session's workspace id, taken from the URL once if genuine, and written back to it on every run.

    Query parameters do not follow page navigation, so the frame calls this on every run of every page:
    a reload or a bookmark on any page then reopens the same history.
    """
    member = sign_in.current_member()
    if member is not None:
        # Signed in, history belongs to the person on every device; a link in the address means nothing.
        if WORKSPACE_PARAM in st.query_params:
            del st.query_params[WORKSPACE_PARAM]
        return member.person.key
    if _WORKSPACE_ID not in st.session_state:
        # Only an id this deployment minted is adopted: any other opens a fresh workspace (an old-style link
        # bringing its history along, once), and the URL below changes to it.
        try:
            secret = workspace_secret(st.secrets, os.environ)
        except ValueError as problem:  # a configured secret too short to protect anyone: the operator's fix
            st.error(str(problem), icon=":material/key_off:")
            st.stop()
        from_url = st.query_params.get(WORKSPACE_PARAM)
        opened = open_workspace_link(from_url, secret, history_store())
        st.session_state[_WORKSPACE_ID] = opened.workspace_id
        if opened.notice:
            st.toast(opened.notice, icon=":material/bookmark:", duration="infinite")
    current = st.session_state[_WORKSPACE_ID]
    if st.query_params.get(WORKSPACE_PARAM) != current:
        st.query_params[WORKSPACE_PARAM] = current
    return current


def current_workspace() -> Workspace:
    """Actions for this session: its client, the shared store and its workspace id."""
    return Workspace(connection_panel.current_client(), history_store(), workspace_id(),
                     budget=sign_in.personal_budget(connection_panel.uses_own_key()))


def count_credits(outcome: Outcome) -> None:
    """Count a finished request's credits in this session's total (the key worked: the badge says so)."""
    connection_panel.note_key_worked()
    connection_panel.record_credits(outcome.credits_used, outcome.credits_remaining)


def note_error(error: Exception) -> None:
    """Learn what a failed request says about the key: a 401 refused it; a 402 means it was accepted."""
    if isinstance(error, AuthenticationError) and error.status_code == 401:
        connection_panel.note_key_refused()
    elif isinstance(error, (InsufficientCreditsError, HistorySaveError)):
        # Out of credits is only said to a key the server knows; a failed save followed a paid answer.
        connection_panel.note_key_worked()
