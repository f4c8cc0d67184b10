"""The History gallery: thumbnails to click, a kind filter and pages, one action bar for the selected item."""

from __future__ import annotations

import io
import math
from datetime import datetime
from functools import cache, partial
from typing import Literal

import streamlit as st
from PIL import Image, ImageDraw, ImageFont

from lib.contract import credits_text
from lib.history_entry import HistoryEntry
from lib.history_store_base import HistoryStoreBase
from lib.thumbnails import THUMBNAIL_MAX_SIDE
from lib.ui import result_cards
from lib.ui.generate_form import open_in_generate
from lib.ui.markdown_text import escape_markdown, shorten
from lib.workspace import form_values

PAGE_SIZE = 12
FILTERS: dict[str, str | None] = {
    "All": None, "Generations": "generation", "Edits": "edit", "Cut-outs": "cutout",
    "Enhanced prompts": "enhancement",
}
# Every key is fixed or a position on the page, never an entry id: Streamlit keeps the metadata of every
# widget key a session has seen, so keys by entry id would grow a session with each page turned.
_FILTER = "history_filter"
_SEARCH = "history_search"
_SEARCH_MAX_CHARS = 200
_PAGE = "history_page"  # the page number input (1 = newest)
_SELECTED = "history_selected"  # the selected item's position on the page (0 = first); a value, not a key
_CONFIRM_DELETE = "history_confirm_delete"  # the entry id awaiting confirmation (a value, not a key)
_ITEM = "history_item_{}"  # the container of the thumbnail at a position on the page
_PICK = "history_pick_{}"  # the button laid over that thumbnail: clicking the picture selects the item
_VIEW = "history_view"  # the View large dialog's content
_CAPTION_PROMPT_CHARS = 80
SELECTED_MARK = ":material/check_circle: Selected"
_ACCENT = "#6a4cff"

# Each thumbnail is covered by its own Select button (transparent, the picture shows through), so a click
# anywhere on the picture selects it; the button keeps a name for screen readers and a focus ring for
# keyboards. The selected item gets a coloured frame, and its caption says "Selected".
_GRID_STYLE = """<style>
[class*="st-key-history_item_"] {position: relative; padding: 4px; border-radius: 0.5rem;}
[class*="st-key-history_pick_"] {position: absolute; inset: 0; z-index: 1; width: auto !important;}
[class*="st-key-history_pick_"] .stButton, [class*="st-key-history_pick_"] button {width: 100% !important;
  height: 100% !important;}
[class*="st-key-history_pick_"] button {background: transparent; border: none; color: transparent;
  cursor: pointer;}
[class*="st-key-history_pick_"] button:hover {background: rgba(106, 76, 255, 0.08);}
[class*="st-key-history_pick_"] button:focus-visible {outline: 2px solid ACCENT;}
.st-key-history_item_SELECTED {outline: 3px solid ACCENT; background: rgba(106, 76, 255, 0.06);}
</style>"""
# View large fits the window: the picture is never taller than the viewport minus room for the dialog's
# title, Download button and caption, nor wider than the dialog; it keeps its proportions.
_VIEW_STYLE = f"""<style>
.st-key-{_VIEW} [data-testid="stImage"] img {{max-height: calc(100vh - 16rem); max-width: 100%;
  width: auto !important; height: auto; object-fit: contain; margin: 0 auto; display: block;}}
</style>"""


def download_all(store: HistoryStoreBase, workspace_id: str) -> None:
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


def _delete(store: HistoryStoreBase, entry: HistoryEntry) -> None:
    store.delete(entry.workspace_id, entry.id)
    st.session_state.pop(_CONFIRM_DELETE, None)
    st.toast("Deleted from History.", icon=":material/delete:")


def _ask_delete(entry_id: str | None) -> None:
    if entry_id is None:
        st.session_state.pop(_CONFIRM_DELETE, None)
    else:
        st.session_state[_CONFIRM_DELETE] = entry_id


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


def grid_caption(number: int, entry: HistoryEntry, *, selected: bool = False) -> str:
    """A grid item's caption: number, "Selected" if it is, title (a cut-out's file), kind, credits, time."""
    details = [result_cards.KIND_LABELS.get(entry.kind, entry.kind)]
    if entry.model:
        details.append(entry.model)
    if entry.credits_used is not None:
        details.append(credits_text(entry.credits_used))
    details.append(datetime.fromtimestamp(entry.created_at).strftime("%d %b %Y, %H:%M"))
    title = shorten(entry.title, _CAPTION_PROMPT_CHARS)
    mark = f" · {SELECTED_MARK}" if selected else ""
    return f"**{number}**{mark} · {escape_markdown(title)} · {escape_markdown(' · '.join(details))}"


@st.dialog("History item", width="large")
def _view(store: HistoryStoreBase, entry: HistoryEntry) -> None:
    """The item large, fitted to the window: the full image (read from disk only now) or the two prompts."""
    if entry.has_image:
        st.html(_VIEW_STYLE)
        with st.container(key=_VIEW):
            result_cards.result_card(store, entry, key=_VIEW, actions=False)  # the action bar has them
    else:
        st.markdown("**Original**")
        st.code(entry.prompt, language=None, wrap_lines=True)
        st.markdown("**Enhanced**")
        st.code(entry.text or "", language=None, wrap_lines=True)
        result_cards.show_additions(entry.prompt, entry.text or "")


def _thumbnail_width(entry: HistoryEntry) -> int:
    """The thumbnail's own width (its longest side is the store's), so a tall one is not blown up."""
    if not (entry.width and entry.height):
        return THUMBNAIL_MAX_SIDE
    scale = THUMBNAIL_MAX_SIDE / max(entry.width, entry.height)
    return max(1, min(entry.width, round(entry.width * scale)))  # thumbnails are never enlarged


def _format_of(picture: bytes) -> Literal["PNG", "JPEG"]:
    """PNG or JPEG, from the file's signature (thumbnails are one or the other)."""
    # Told the format, st.image neither opens the picture to guess it nor re-encodes the PNG text tile
    # as a JPEG on every run.
    return "PNG" if picture.startswith(b"\x89PNG") else "JPEG"


def _select(position: int) -> None:
    st.session_state[_SELECTED] = position
    st.session_state.pop(_CONFIRM_DELETE, None)  # a question about another item would now be stale


def _grid(entries: list[HistoryEntry], selected: int) -> None:
    """The page's thumbnails; clicking one selects it, and the selected one is framed and captioned."""
    st.html(_GRID_STYLE.replace("ACCENT", _ACCENT).replace("SELECTED", str(selected)))
    with st.container(horizontal=True, gap="small"):
        for position, entry in enumerate(entries):
            with st.container(key=_ITEM.format(position), width="content"):
                picture = entry.thumbnail or text_tile()
                st.image(picture, width=_thumbnail_width(entry), output_format=_format_of(picture),
                         caption=grid_caption(position + 1, entry, selected=position == selected))
                st.button(f"Select item {position + 1}", key=_PICK.format(position), on_click=_select,
                          args=(position,))


def _selected_position(entries: list[HistoryEntry]) -> int:
    """The selected item's position on this page (the first one when the page got shorter)."""
    position = st.session_state.get(_SELECTED, 0)
    if not 0 <= position < len(entries):
        position = st.session_state[_SELECTED] = 0  # the page got shorter (a delete, or the last page)
    return position


def _action_bar(store: HistoryStoreBase, entry: HistoryEntry) -> None:
    """View, Download, Reuse, Use as input, Remove background and Delete for the selected item."""
    st.caption(result_cards.describe(entry, prompt_limit=160))
    confirming = st.session_state.get(_CONFIRM_DELETE) == entry.id
    # One horizontal container rather than columns: fewer blocks to build and send on every run.
    with st.container(horizontal=True):
        if st.button("View large", key="history_view_button", icon=":material/zoom_in:", width="stretch"):
            _view(store, entry)
        if entry.has_image:  # the shared Download: the stored PNG, read only when clicked
            result_cards.png_download(store, entry, key="history_download", label="Download", width="stretch")
        else:
            st.button("Download", key="history_download_none", icon=":material/download:", width="stretch",
                      disabled=True, help="An enhanced prompt has no image.")
        if st.button("Reuse", key="history_reuse", icon=":material/replay:", width="stretch",
                     help="Open Generate with these settings."):
            open_in_generate(form_values(entry.settings()), "Settings from History are in the form.",
                             inputs_of=entry)
        problem = result_cards.send_buttons(store, entry, key="history", width="stretch")
        st.button("Delete", key="history_delete", icon=":material/delete:", width="stretch",
                  disabled=confirming, on_click=_ask_delete, args=(entry.id,))
    if problem:  # Generate's input images are full, or already hold this one
        st.warning(problem, icon=":material/input:")
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


def _nothing_found(label: str, kind: str | None, search: str) -> str:
    """What an empty gallery says: nothing made yet, none of this kind, or nothing matching the search."""
    if search.strip():
        among = "" if kind is None else f" among {label.lower()}"
        return f"Nothing matches “{escape_markdown(search.strip())}”{among}."
    if kind is None:
        return "Nothing here yet: what you make on the other pages appears here."
    return f"No {label.lower()} yet."


# A fragment: searching, changing the filter, turning a page, selecting or deleting reruns only the gallery.
@st.fragment
def gallery(store: HistoryStoreBase, workspace_id: str) -> None:
    """Newest first, PAGE_SIZE thumbnails a page, by kind and search; one action bar for the selected item."""
    # Live: the gallery (a fragment) follows the words as they are typed, after a short pause.
    search = st.text_input("Search", key=_SEARCH, type="search", max_chars=_SEARCH_MAX_CHARS,
                           placeholder="Words in the prompt or the file name", live="300ms",
                           on_change=_go_to_page, kwargs={"page": 1}) or ""
    label = st.segmented_control("Show", list(FILTERS), key=_FILTER, default="All", required=True,
                                 on_change=_go_to_page, kwargs={"page": 1}, wrap=True)
    kind = FILTERS[label]
    total = store.count(workspace_id, kind=kind, search=search)
    if total == 0:
        st.info(_nothing_found(label, kind, search))
        return
    pages = math.ceil(total / PAGE_SIZE)
    # Set before the number input is drawn: a delete or another filter can leave fewer pages.
    page = min(max(1, int(st.session_state.get(_PAGE, 1))), pages)
    st.session_state[_PAGE] = page
    entries = store.list(workspace_id, kind=kind, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
                         search=search)
    selected = _selected_position(entries)
    _action_bar(store, entries[selected])
    _grid(entries, selected)
    _page_bar(page, pages, total)
