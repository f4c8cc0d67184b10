"""The connection every page shares: which server and key to use, its client, and the sidebar panel."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from lib.client import ImageStudioClient
from lib.local_studio import LocalStudioHandle, start_local_studio
from lib.config import resolve_connection, resolve_timeout

OFFLINE_BADGE = "Offline demo — images are previews from the Local Studio"

# Session-state keys (this module's only state; all per browser session).
_KEY_FIELD = "connection_api_key_field"
_OWN_KEY = "connection_own_api_key"
_CREDITS_USED = "connection_credits_used"
_CREDITS_REMAINING = "connection_credits_remaining"


@dataclass(frozen=True)
class Connection:
    """The server and key this session talks to; `description` is what people see (never the key)."""

    endpoint: str
    api_key: str = field(repr=False)
    description: str
    offline: bool
    timeout: float


@st.cache_resource(show_spinner="Starting the offline Local Studio…")
def local_studio() -> LocalStudioHandle:
    """The in-process Local Studio, started once and shared by every session (it is thread-safe)."""
    return start_local_studio()


def _close_client(client: ImageStudioClient) -> None:
    client.close()


# One client per browser session (scope="session"), so one person's pasted key never serves another.
# The key itself is left out of the cache key (leading underscore); a fingerprint tells keys apart.
@st.cache_resource(scope="session", max_entries=2, on_release=_close_client, show_spinner=False)
def _session_client(endpoint: str, key_fingerprint: str, timeout: float, _api_key: str) -> ImageStudioClient:
    return ImageStudioClient(api_key=_api_key, endpoint=endpoint, timeout=timeout)


def _secrets() -> object:
    """st.secrets, read lazily by lib.config (which copes with there being no secrets file)."""
    return st.secrets


def current_connection() -> Connection:
    """This session's connection: its own pasted key, else the configured key, else the Local Studio."""
    configured = resolve_connection(_secrets(), os.environ)
    timeout = resolve_timeout(_secrets(), os.environ)
    own_key = st.session_state.get(_OWN_KEY)
    if own_key:
        return Connection(configured.endpoint, own_key, "your own API key (this browser tab only)", False,
                          timeout)
    if configured.api_key:
        return Connection(configured.endpoint, configured.api_key, f"the API key from {configured.source}",
                          False, timeout)
    studio = local_studio()
    return Connection(studio.endpoint, studio.api_key, "the offline Local Studio", True, timeout)


def current_client() -> ImageStudioClient:
    """The client for this session's connection (kept for the session, replaced when the key changes)."""
    connection = current_connection()
    fingerprint = hashlib.sha256(connection.api_key.encode("utf-8")).hexdigest()[:16]
    return _session_client(connection.endpoint, fingerprint, connection.timeout, connection.api_key)


def record_credits(credits_used: int | None, credits_remaining: int | None) -> None:
    """Add a request's cost to this session's total and remember the balance the server reported."""
    st.session_state[_CREDITS_USED] = st.session_state.get(_CREDITS_USED, 0) + (credits_used or 0)
    if credits_remaining is not None:
        st.session_state[_CREDITS_REMAINING] = credits_remaining


def _take_pasted_key() -> None:
    """Move a pasted key out of the field at once, so the page never sends it back to the browser."""
    pasted = (st.session_state.get(_KEY_FIELD) or "").strip()
    st.session_state[_KEY_FIELD] = ""
    if pasted:
        st.session_state[_OWN_KEY] = pasted
        st.session_state.pop(_CREDITS_REMAINING, None)  # the balance belonged to the previous key


def _forget_key() -> None:
    st.session_state.pop(_OWN_KEY, None)
    st.session_state.pop(_CREDITS_REMAINING, None)


def render_sidebar() -> None:
    """The connection panel: mode, endpoint in use, and the API key field."""
    connection = current_connection()
    with st.sidebar:
        st.subheader("Connection")
        if connection.offline:
            st.info(OFFLINE_BADGE, icon=":material/wifi_off:")
        else:
            st.success(f"Connected with {connection.description}.", icon=":material/cloud_done:")
        st.caption(f"Endpoint: `{connection.endpoint}`")
        if st.session_state.get(_OWN_KEY):
            st.button("Forget my API key", key="connection_forget_key", on_click=_forget_key,
                      help="Go back to the app's default connection.")
        else:
            st.text_input(
                "API key", type="password", key=_KEY_FIELD, on_change=_take_pasted_key, placeholder="sk_…",
                help="Your own Image Studio key, for this browser tab only. It is never shown again, "
                     "saved to disk or shared with anyone else using the app.",
            )


def render_credits(slot: DeltaGenerator) -> None:
    """Credits used in this session, and the balance left when the server reported one."""
    used = st.session_state.get(_CREDITS_USED, 0)
    remaining = st.session_state.get(_CREDITS_REMAINING)
    text = f"Credits used this session: **{used:,}**"
    if remaining is not None:
        text += f"  \nCredits remaining: **{remaining:,}**"
    slot.markdown(text)


def credits_remaining() -> int | None:
    """The balance the server reported on this session's last answer; None when it never said."""
    return st.session_state.get(_CREDITS_REMAINING)
