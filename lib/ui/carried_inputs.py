"""Images carried from History to another page: Generate's input images, or the photo to cut out.

A file uploader cannot be filled by the app, so what comes from History is shown beside it instead. The
session keeps only where each image is in History and a small thumbnail; the images are read from History
when sent.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from lib.contract import input_limit
from lib.history_entry import HistoryEntry
from lib.history_store_base import HistoryStoreBase
from lib.images import ImageInputError
from lib.ui.markdown_text import escape_markdown, shorten
from lib.workspace import InputImage, check_upload

# [{"workspace_id", "entry_id", "input", "name", "thumbnail"}]: "input" is the position among the entry's
# own input images (Reuse), or None for the entry's image itself (Use as input). No full images.
CARRIED = "generate_carried_inputs"
NOTE = "generate_carried_note"  # (kind, text): what the last Use as input did, said once beside the inputs
# {"workspace_id", "entry_id", "title", "thumbnail"}: the History image offered to Remove background.
TO_CUT_OUT = "remove_background_from_history"
REMOVE_BACKGROUND_PAGE = "app_pages/remove_background.py"
_NAME_CHARS = 40


def _name(index: int) -> str:
    return f"input {index + 1}"


def _carried() -> list[dict[str, Any]]:
    return st.session_state.get(CARRIED) or []


def carry_over(store: HistoryStoreBase, entry: HistoryEntry) -> int:
    """Bring an entry's input images to the next Generate (thumbnails kept, images left in History)."""
    st.session_state.pop(CARRIED, None)
    carried = []
    for index, data in enumerate(store.input_images(entry.workspace_id, entry.id)):
        try:
            thumbnail = check_upload(InputImage(_name(index), data))
        except ImageInputError:
            continue  # unreadable now: left out rather than sent broken
        carried.append({"workspace_id": entry.workspace_id, "entry_id": entry.id, "input": index,
                        "name": _name(index), "thumbnail": thumbnail})
    if carried:
        st.session_state[CARRIED] = carried
    return len(carried)


def forget() -> None:
    """Drop the carried-over inputs (the form now holds something else)."""
    st.session_state.pop(CARRIED, None)


def count() -> int:
    """How many carried-over input images the next Generate will send."""
    return len(_carried())


def _generate_limit() -> tuple[int, str]:
    """How many input images Generate takes with its current settings, and who sets that limit."""
    # Imported here: generate_form shows these inputs, so it imports this module first.
    from lib.ui import generate_form

    model = st.session_state.get(generate_form.MODEL) or generate_form.DEFAULT_MODEL
    compare = bool(st.session_state.get(generate_form.COMPARE))
    return input_limit(model, compare=compare), "Comparing models" if compare else model


def _thumbnail(store: HistoryStoreBase, entry: HistoryEntry) -> bytes | None:
    """The entry's stored thumbnail; made from its image only for an entry saved without one."""
    if entry.thumbnail:
        return entry.thumbnail
    png = store.image_png(entry.workspace_id, entry.id)
    try:
        return check_upload(InputImage(entry.title, png)) if png else None
    except ImageInputError:
        return None


def use_as_input(store: HistoryStoreBase, entry: HistoryEntry) -> str | None:
    """Add the entry's image to Generate's input images and open Generate; why not, in plain words."""
    title = shorten(entry.title, _NAME_CHARS)
    carried = _carried()
    if any(item["entry_id"] == entry.id and item["input"] is None for item in carried):
        return f"“{escape_markdown(title)}” is already an input image in Generate."
    limit, who = _generate_limit()
    if len(carried) >= limit:
        return (f"Generate's input images are full: {escape_markdown(who)} takes at most {limit}. "
                "Remove one there first, then use this image again.")
    thumbnail = _thumbnail(store, entry)
    if thumbnail is None:
        return "This item has no image to use: it may have been deleted from History."
    carried.append({"workspace_id": entry.workspace_id, "entry_id": entry.id, "input": None, "name": title,
                    "thumbnail": thumbnail})
    st.session_state[CARRIED] = carried
    st.session_state[NOTE] = ("success", f"“{escape_markdown(title)}” added to the input images "
                                         f"({len(carried)} of {limit}): Generate sends it with the prompt.")
    from lib.ui import generate_form  # see _generate_limit

    st.switch_page(generate_form.GENERATE_PAGE)
    return None


def _remove(position: int) -> None:
    carried = _carried()
    if 0 <= position < len(carried):
        del carried[position]
        if not carried:
            forget()


def show() -> None:
    """The carried-over input images, each with a Remove button (positional keys, never entry ids)."""
    if NOTE in st.session_state:
        kind, text = st.session_state.pop(NOTE)
        getattr(st, kind)(text, icon=":material/input:")
    carried = _carried()
    if not carried:
        return
    st.caption(f"{len(carried)} input image{'' if len(carried) == 1 else 's'} from History "
               "(sent with Generate):")
    with st.container(horizontal=True, key="generate_carried"):
        for position, item in enumerate(carried):
            with st.container(width=110):
                st.image(item["thumbnail"], caption=escape_markdown(item["name"]), width=96)
                st.button("Remove", key=f"generate_carried_remove_{position}", on_click=_remove,
                          args=(position,), icon=":material/close:",
                          help=f"Don't send {escape_markdown(item['name'])}.")


def images(store: HistoryStoreBase) -> list[InputImage] | None:
    """The carried input images read from History now; None (and they are dropped) when some are gone."""
    carried = _carried()
    inputs: dict[str, list[bytes]] = {}
    found: list[InputImage] = []
    missing: list[int] = []
    for position, item in enumerate(carried):
        if item["input"] is None:
            data = store.image_png(item["workspace_id"], item["entry_id"])
        else:
            if item["entry_id"] not in inputs:
                inputs[item["entry_id"]] = store.input_images(item["workspace_id"], item["entry_id"])
            stored = inputs[item["entry_id"]]
            data = stored[item["input"]] if item["input"] < len(stored) else None
        if data is None:
            missing.append(position)
        else:
            found.append(InputImage(item["name"], data))
    if missing:
        for position in reversed(missing):
            del carried[position]
        if not carried:
            forget()
        return None
    return found


def send_to_remove_background(entry: HistoryEntry) -> None:
    """Offer the entry's image as the photo to cut out, and open Remove background."""
    st.session_state[TO_CUT_OUT] = {"workspace_id": entry.workspace_id, "entry_id": entry.id,
                                    "title": entry.title, "thumbnail": entry.thumbnail}
    st.switch_page(REMOVE_BACKGROUND_PAGE)


def photo_to_cut_out() -> dict[str, Any] | None:
    """The History image Remove background offers as its photo, if any: ids, title and thumbnail."""
    offered: dict[str, Any] | None = st.session_state.get(TO_CUT_OUT)
    return offered


def drop_photo_to_cut_out() -> None:
    """Stop offering the History image to Remove background (the person dropped it, or uploaded one)."""
    st.session_state.pop(TO_CUT_OUT, None)
