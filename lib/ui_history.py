"""The History gallery: thumbnails from the store, filter and pages, and per-item view, reuse, delete."""

from __future__ import annotations

import math
from functools import partial

import streamlit as st

from lib import ui_results
from lib.store import HistoryEntry, HistoryStore
from lib.ui_generate import open_in_generate
from lib.workspace import form_values

PAGE_SIZE = 12
COLUMNS = 3
FILTERS: dict[str, str | None] = {
    "All": None, "Generations": "generation", "Edits": "edit", "Cut-outs": "cutout",
    "Enhanced prompts": "enhancement",
}
_FILTER = "history_filter"
_PAGE = "history_page"
_CONFIRM_DELETE = "history_confirm_delete"


def download_all(store: HistoryStore, workspace_id: str) -> None:
    """Download all (zip): every image with a history.json of settings, built only when clicked."""
    st.download_button("Download all (zip)", data=partial(store.export_zip, workspace_id),
                       file_name="image-studio-history.zip", mime="application/zip", on_click="ignore",
                       icon=":material/folder_zip:", key="history_download_all")


def _first_page() -> None:
    st.session_state[_PAGE] = 0


def _turn_page(step: int) -> None:
    st.session_state[_PAGE] = max(0, st.session_state.get(_PAGE, 0) + step)


def _delete(store: HistoryStore, entry: HistoryEntry) -> None:
    store.delete(entry.workspace_id, entry.id)
    st.session_state.pop(_CONFIRM_DELETE, None)
    st.toast("Deleted from History.", icon=":material/delete:")


def _ask_delete(entry_id: str | None) -> None:
    if entry_id is None:
        st.session_state.pop(_CONFIRM_DELETE, None)
    else:
        st.session_state[_CONFIRM_DELETE] = entry_id


@st.dialog("History item", width="large")
def _view(store: HistoryStore, entry: HistoryEntry) -> None:
    """The item large: the full image (read from disk only now) or the two prompts."""
    if entry.has_image:
        ui_results.result_card(store, entry, key=f"history_view_{entry.id}")
    else:
        st.markdown("**Original**")
        st.code(entry.prompt, language=None, wrap_lines=True)
        st.markdown("**Enhanced**")
        st.code(entry.text or "", language=None, wrap_lines=True)
        ui_results.show_additions(entry.prompt, entry.text or "")


def _card(store: HistoryStore, entry: HistoryEntry) -> None:
    """One item: thumbnail (never the full image), what it is, and its actions."""
    with st.container(border=True):
        if entry.thumbnail:
            st.image(entry.thumbnail, width="stretch")
        elif entry.text:
            st.markdown(f"**Enhanced prompt**  \n{ui_results.plain(ui_results.shorten(entry.text, 160))}")
        st.caption(ui_results.describe(entry, prompt_limit=120))
        view_column, download_column = st.columns(2)
        if view_column.button("View", key=f"history_view_button_{entry.id}", icon=":material/zoom_in:",
                              width="stretch"):
            _view(store, entry)
        if entry.has_image:
            with download_column:
                ui_results.png_download(store, entry, key=f"history_download_{entry.id}", label="Download",
                                        width="stretch")
        reuse_column, delete_column = st.columns(2)
        if reuse_column.button("Reuse", key=f"history_reuse_{entry.id}", icon=":material/replay:",
                               width="stretch", help="Open Generate with these settings."):
            open_in_generate(form_values(entry.settings()), "Settings from History are in the form.")
        if st.session_state.get(_CONFIRM_DELETE) == entry.id:
            st.warning("Delete this item for good?")
            yes, no = st.columns(2)
            yes.button("Delete", key=f"history_delete_yes_{entry.id}", type="primary", width="stretch",
                       on_click=_delete, args=(store, entry))
            no.button("Keep", key=f"history_delete_no_{entry.id}", width="stretch", on_click=_ask_delete,
                      args=(None,))
        else:
            delete_column.button("Delete", key=f"history_delete_{entry.id}", icon=":material/delete:",
                                 width="stretch", on_click=_ask_delete, args=(entry.id,))


# A fragment: changing the filter, turning a page or deleting reruns only the gallery, not the page.
@st.fragment
def gallery(store: HistoryStore, workspace_id: str) -> None:
    """Newest first, PAGE_SIZE thumbnails a page, filtered by kind."""
    label = st.segmented_control("Show", list(FILTERS), key=_FILTER, default="All", required=True,
                                 on_change=_first_page, wrap=True)
    kind = FILTERS[label]
    total = store.count(workspace_id, kind=kind)
    if total == 0:
        st.info("Nothing here yet: what you make on the other pages appears here." if kind is None
                else f"No {label.lower()} yet.")
        return
    pages = math.ceil(total / PAGE_SIZE)
    page = min(st.session_state.get(_PAGE, 0), pages - 1)
    st.session_state[_PAGE] = page
    entries = store.list(workspace_id, kind=kind, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
    for start in range(0, len(entries), COLUMNS):
        for column, entry in zip(st.columns(COLUMNS), entries[start:start + COLUMNS], strict=False):
            with column:
                _card(store, entry)
    previous, where, following = st.columns([1, 2, 1], vertical_alignment="center")
    previous.button("Previous", key="history_previous", icon=":material/chevron_left:", disabled=page == 0,
                    on_click=_turn_page, args=(-1,), width="stretch")
    where.markdown(f"<div style='text-align:center'>Page {page + 1} of {pages} · {total:,} items</div>",
                   unsafe_allow_html=True)
    following.button("Next", key="history_next", icon=":material/chevron_right:", disabled=page >= pages - 1,
                     on_click=_turn_page, args=(1,), width="stretch")
