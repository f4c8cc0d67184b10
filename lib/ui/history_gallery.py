"""The History gallery: one grid of stored thumbnails, filter and pages, one action bar for the selection."""

from __future__ import annotations

import io
import math
from datetime import datetime
from functools import cache, partial

import streamlit as st
from PIL import Image, ImageDraw, ImageFont

from lib.thumbnails import THUMBNAIL_MAX_SIDE
from lib.store import HistoryEntry, HistoryStore
from lib.ui import result_cards
from lib.ui.generate_form import open_in_generate
from lib.workspace import download_name, form_values

PAGE_SIZE = 12
FILTERS: dict[str, str | None] = {
    "All": None, "Generations": "generation", "Edits": "edit", "Cut-outs": "cutout",
    "Enhanced prompts": "enhancement",
}
# Every key is fixed or a position on the page, never an entry id: Streamlit keeps the metadata of every
# widget key a session has seen, so keys by entry id would grow a session with each page turned.
_FILTER = "history_filter"
_PAGE = "history_page"  # the page number input (1 = newest)
_SELECTED = "history_selected"  # the selected item's position on the page (0 = first)
_CONFIRM_DELETE = "history_confirm_delete"  # the entry id awaiting confirmation (a value, not a key)
_CAPTION_PROMPT_CHARS = 80


def download_all(store: HistoryStore, workspace_id: str) -> None:
    """Download all (zip): every image with a history.json of settings, built only when clicked."""
    st.download_button("Download all (zip)", data=partial(store.export_zip, workspace_id),
                       file_name="image-studio-history.zip", mime="application/zip", on_click="ignore",
                       icon=":material/folder_zip:", key="history_download_all")


def _go_to_page(page: int | None = None, step: int = 0) -> None:
    """Show another page (page number, or a step from the current one) with its first item selected."""
    if page is not None:
        st.session_state[_PAGE] = page
    elif step:
        st.session_state[_PAGE] = max(1, st.session_state.get(_PAGE, 1) + step)
    st.session_state[_SELECTED] = 0
    st.session_state.pop(_CONFIRM_DELETE, None)


def _delete(store: HistoryStore, entry: HistoryEntry) -> None:
    store.delete(entry.workspace_id, entry.id)
    st.session_state.pop(_CONFIRM_DELETE, None)
    st.toast("Deleted from History.", icon=":material/delete:")


def _ask_delete(entry_id: str | None) -> None:
    if entry_id is None:
        st.session_state.pop(_CONFIRM_DELETE, None)
    else:
        st.session_state[_CONFIRM_DELETE] = entry_id


def item_png(store: HistoryStore, entry: HistoryEntry) -> bytes:
    """The Download file of an item: its stored PNG (settings in its text chunks), read at the click."""
    return store.image_png(entry.workspace_id, entry.id) or b""


@cache
def text_tile() -> bytes:
    """The grid's picture for an enhanced prompt (it has no image): drawn once per process."""
    tile = Image.new("RGB", (THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE * 2 // 3), "#ece7ff")
    draw = ImageDraw.Draw(tile)
    draw.text((tile.width // 2, tile.height // 2), "Enhanced prompt", fill="#4b3f8f", anchor="mm",
              font=ImageFont.load_default(size=22))
    out = io.BytesIO()
    tile.save(out, "PNG")
    return out.getvalue()


def grid_caption(number: int, entry: HistoryEntry) -> str:
    """A grid item's one-line caption: its number on the page, prompt, kind, model, credits and time."""
    details = [result_cards.KIND_LABELS.get(entry.kind, entry.kind)]
    if entry.model:
        details.append(entry.model)
    if entry.credits_used is not None:
        details.append(f"{entry.credits_used} credit{'' if entry.credits_used == 1 else 's'}")
    details.append(datetime.fromtimestamp(entry.created_at).strftime("%d %b %Y, %H:%M"))
    prompt = result_cards.shorten(entry.prompt, _CAPTION_PROMPT_CHARS)
    return f"**{number}** · {result_cards.plain(prompt)} · {result_cards.plain(' · '.join(details))}"


@st.dialog("History item", width="large")
def _view(store: HistoryStore, entry: HistoryEntry) -> None:
    """The item large: the full image (read from disk only now) or the two prompts."""
    if entry.has_image:
        result_cards.result_card(store, entry, key="history_view")
    else:
        st.markdown("**Original**")
        st.code(entry.prompt, language=None, wrap_lines=True)
        st.markdown("**Enhanced**")
        st.code(entry.text or "", language=None, wrap_lines=True)
        result_cards.show_additions(entry.prompt, entry.text or "")


def _grid(entries: list[HistoryEntry]) -> None:
    # One st.image call for the whole page: one element instead of a dozen cards of widgets each. The
    # thumbnails' own width (the store's longest side) means Streamlit never resizes or re-encodes them.
    st.image([entry.thumbnail or text_tile() for entry in entries],
             caption=[grid_caption(number, entry) for number, entry in enumerate(entries, start=1)],
             width=THUMBNAIL_MAX_SIDE)


def _selected(entries: list[HistoryEntry]) -> HistoryEntry:
    """The selection control (positions on the page) and the entry it points at."""
    if not 0 <= st.session_state.get(_SELECTED, 0) < len(entries):
        st.session_state[_SELECTED] = 0  # the page got shorter (a delete, or the last page)
    st.session_state.setdefault(_SELECTED, 0)
    position = st.segmented_control("Selected item", list(range(len(entries))), key=_SELECTED,
                                    format_func=lambda index: str(index + 1), required=True,
                                    on_change=_ask_delete, args=(None,), wrap=True)
    return entries[position if position is not None else 0]


def _action_bar(store: HistoryStore, entry: HistoryEntry) -> None:
    """View, Download, Reuse and Delete for the selected item, with its full description."""
    st.caption(result_cards.describe(entry, prompt_limit=160))
    confirming = st.session_state.get(_CONFIRM_DELETE) == entry.id
    # One horizontal container rather than columns: fewer blocks to build and send on every run.
    with st.container(horizontal=True):
        if st.button("View large", key="history_view_button", icon=":material/zoom_in:", width="stretch"):
            _view(store, entry)
        # The file is read only when clicked; "ignore" downloads without a rerun.
        st.download_button("Download", data=partial(item_png, store, entry), file_name=download_name(entry),
                           mime="image/png", key="history_download", on_click="ignore",
                           icon=":material/download:", width="stretch", disabled=not entry.has_image,
                           help=None if entry.has_image else "An enhanced prompt has no image.")
        if st.button("Reuse", key="history_reuse", icon=":material/replay:", width="stretch",
                     help="Open Generate with these settings."):
            open_in_generate(form_values(entry.settings()), "Settings from History are in the form.")
        st.button("Delete", key="history_delete", icon=":material/delete:", width="stretch",
                  disabled=confirming, on_click=_ask_delete, args=(entry.id,))
    if confirming:
        st.warning("Delete this item for good?")
        with st.container(horizontal=True):
            st.button("Delete", key="history_delete_yes", type="primary", on_click=_delete,
                      args=(store, entry))
            st.button("Keep", key="history_delete_no", on_click=_ask_delete, args=(None,))


def _page_bar(page: int, pages: int, total: int) -> None:
    """Previous, a page number to jump to, where we are, and Next."""
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button("Previous", key="history_previous", icon=":material/chevron_left:", disabled=page <= 1,
                  on_click=_go_to_page, kwargs={"step": -1})
        st.number_input("Page", min_value=1, max_value=pages, step=1, key=_PAGE, on_change=_go_to_page,
                        label_visibility="collapsed", help="Type a page number to jump to it.", width=140)
        st.markdown(f"<div style='text-align:center'>Page {page} of {pages:,} · {total:,} items</div>",
                    unsafe_allow_html=True)
        st.button("Next", key="history_next", icon=":material/chevron_right:", disabled=page >= pages,
                  on_click=_go_to_page, kwargs={"step": 1})


# A fragment: changing the filter, turning a page, selecting or deleting reruns only the gallery.
@st.fragment
def gallery(store: HistoryStore, workspace_id: str) -> None:
    """Newest first, PAGE_SIZE thumbnails a page, filtered by kind; one action bar for the selected item."""
    label = st.segmented_control("Show", list(FILTERS), key=_FILTER, default="All", required=True,
                                 on_change=_go_to_page, kwargs={"page": 1}, wrap=True)
    kind = FILTERS[label]
    total = store.count(workspace_id, kind=kind)
    if total == 0:
        st.info("Nothing here yet: what you make on the other pages appears here." if kind is None
                else f"No {label.lower()} yet.")
        return
    pages = math.ceil(total / PAGE_SIZE)
    # Set before the number input is drawn: a delete or another filter can leave fewer pages.
    page = min(max(1, int(st.session_state.get(_PAGE, 1))), pages)
    st.session_state[_PAGE] = page
    entries = store.list(workspace_id, kind=kind, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    _action_bar(store, _selected(entries))
    _grid(entries)
    _page_bar(page, pages, total)
