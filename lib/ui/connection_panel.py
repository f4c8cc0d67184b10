"""The connection every page shares: which server and key to use, its client, and the sidebar panel."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from lib.client import ImageStudioClient
from lib.config import resolve_connection, resolve_timeout
from lib.local_studio import LocalStudioHandle, start_local_studio

OFFLINE_BADGE = "Offline demo — images are previews from the Local Studio"

# Session-state keys (this module's only state; all per browser session).
_KEY_FIELD = "connection_api_key_field"
_OWN_KEY = "connection_own_api_key"
_CREDITS_USED = "connection_credits_used"
_CREDITS_REMAINING = "connection_credits_remaining"
_KEY_CHECKS = "connection_key_checks"  # key fingerprint -> (the server accepted it?, when), from real calls
_SWITCH_NOTICE = "connection_switch_notice"  # the endpoint a pasted key moved this tab to, until dismissed
_TOAST = "connection_toast"  # a one-off toast for the next run (callbacks run before the page is drawn)


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


def _secrets() -> Mapping[str, Any]:
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


def uses_own_key() -> bool:
    """True when this session calls the API with a key the person pasted, not the app's own."""
    return bool(st.session_state.get(_OWN_KEY))


def _fingerprint(api_key: str) -> str:
    """A short one-way digest that tells keys apart without holding the key itself."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]


def current_client() -> ImageStudioClient:
    """The client for this session's connection (kept for the session, replaced when the key changes)."""
    connection = current_connection()
    return _session_client(connection.endpoint, _fingerprint(connection.api_key), connection.timeout,
                           connection.api_key)


def _note_key_check(worked: bool) -> None:
    connection = current_connection()
    if not connection.offline:  # the Local Studio's demo key is ours: there is nothing to tell people
        checks = st.session_state.setdefault(_KEY_CHECKS, {})
        checks[_fingerprint(connection.api_key)] = (worked, time.time())


def note_key_worked() -> None:
    """Remember that the server just accepted this session's key (a call with it got an answer)."""
    _note_key_check(True)


def note_key_refused() -> None:
    """Remember that the server just refused this session's key (HTTP 401)."""
    _note_key_check(False)


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
        before = current_connection()
        st.session_state[_OWN_KEY] = pasted
        st.session_state.pop(_CREDITS_REMAINING, None)  # the balance belonged to the previous key
        after = current_connection()
        # Leaving the offline demo means real requests to another server, spending real credits: a
        # change that big is said in the main area, where the person is looking, not only in the sidebar.
        if before.offline and after.endpoint != before.endpoint:
            st.session_state[_SWITCH_NOTICE] = after.endpoint
            st.session_state[_TOAST] = f"Your API key is in use: requests now go to {after.endpoint}"


def _forget_key() -> None:
    st.session_state.pop(_OWN_KEY, None)
    st.session_state.pop(_CREDITS_REMAINING, None)
    if st.session_state.pop(_SWITCH_NOTICE, None) is not None:
        st.session_state[_TOAST] = "Your API key is forgotten: back on the offline Local Studio."


def _dismiss_switch_notice() -> None:
    st.session_state.pop(_SWITCH_NOTICE, None)


def render_switch_notice() -> None:
    """In the main area: a toast and a notice when a pasted key moved this tab off the Local Studio."""
    toast = st.session_state.pop(_TOAST, None)
    if toast:
        st.toast(toast, icon=":material/swap_horiz:")
    endpoint = st.session_state.get(_SWITCH_NOTICE)
    if endpoint:
        with st.container(horizontal=True, vertical_alignment="center"):
            st.info(f"Your API key moved this tab off the offline Local Studio: requests now go to "
                    f"`{endpoint}` and spend your credits.", icon=":material/swap_horiz:", width="stretch")
            st.button("OK", key="connection_switch_seen", on_click=_dismiss_switch_notice)


def _show_key_status(connection: Connection) -> bool:
    """The key's badge: not checked yet, works (and when), or refused (and what to do); True if refused."""
    check = st.session_state.get(_KEY_CHECKS, {}).get(_fingerprint(connection.api_key))
    own = bool(st.session_state.get(_OWN_KEY))
    subject = connection.description[:1].upper() + connection.description[1:]
    if check is None:
        st.info(f"{subject} — not checked yet: your first request will show whether the server accepts it.",
                icon=":material/pending:")
        return False
    worked, when = check
    at = time.strftime("%H:%M:%S UTC", time.gmtime(when))
    if worked:
        st.success(f"{subject} works: the server accepted it at {at}.", icon=":material/cloud_done:")
        return False
    fix = ("Check that you copied all of it (it starts with sk_) and paste it again below, or forget it."
           if own else "Paste a working key below, or fix IMAGE_STUDIO_API_KEY in the app's secrets.")
    st.error(f"{subject} was refused by the server at {at} (HTTP 401). {fix}", icon=":material/key_off:")
    return True


def render_sidebar(area: DeltaGenerator) -> None:
    """The connection panel in `area`: mode and key status, endpoint in use, and the API key field.

    The frame draws it after the page ran, so the status already reflects the request just made.
    """
    connection = current_connection()
    with area:
        st.subheader("Connection")
        if connection.offline:
            st.info(OFFLINE_BADGE, icon=":material/wifi_off:")
            refused = False
        else:
            refused = _show_key_status(connection)
        st.caption(f"Endpoint: `{connection.endpoint}`")
        own_key = bool(st.session_state.get(_OWN_KEY))
        if not own_key or refused:
            st.text_input(
                "API key", type="password", key=_KEY_FIELD, on_change=_take_pasted_key, placeholder="sk_…",
                help="Your own Image Studio key, for this browser tab only. It is never shown again, "
                     "saved to disk or shared with anyone else using the app.",
            )
        if own_key:
            st.button("Forget my API key", key="connection_forget_key", on_click=_forget_key,
                      help="Go back to the app's default connection.")


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
