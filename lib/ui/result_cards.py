"""Shared result widgets: error messages, the result card, image downloads built on click."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Literal

import streamlit as st

from lib.contract import credits_text
from lib.errors import ImageStudioError
from lib.history_entry import HistoryEntry
from lib.history_store_base import HistoryStoreBase
from lib.images import ImageInputError
from lib.thumbnails import to_jpeg
from lib.ui import carried_inputs, connection_panel, session
from lib.ui.error_messages import explain_as_markdown
from lib.ui.markdown_text import escape_markdown, shorten
from lib.ui.text_changes import added_parts
from lib.workspace import download_name, orientation, size_orientation

Width = Literal["stretch", "content"]
PREVIEW_NOTE = "Preview from the offline Local Studio, not a FLUX image."
KIND_LABELS = {
    "generation": "Generation", "edit": "Edit", "cutout": "Cut-out", "enhancement": "Enhanced prompt",
}


def too_few_credits(cost: int) -> str | None:
    """What to say before a click the balance the server last reported cannot pay for; None when it can."""
    left = connection_panel.credits_remaining()
    if left is None or left >= cost:
        return None
    return (f"This costs {credits_text(cost)}, and only {credits_text(left)} {'is' if left == 1 else 'are'} "
            "left. Top up in the billing dashboard first.")


def error_text(error: ImageStudioError | ImageInputError) -> str:
    """The plain-language message as Markdown in which the server's (or a file's) words show literally."""
    # Every error a person is shown passes here: what it says about the key (a 401 refused it) reaches the
    # sidebar's key badge from this one place.
    session.note_error(error)
    return explain_as_markdown(error)


def show_error(error: ImageStudioError | ImageInputError) -> None:
    """A plain-language error box (never a traceback)."""
    st.error(error_text(error), icon=":material/error:")


def describe(entry: HistoryEntry, *, prompt_limit: int = 280) -> str:
    """One caption line: prompt, then model, aspect ratio with orientation, size, credits and time."""
    details = [KIND_LABELS.get(entry.kind, entry.kind)]
    if entry.model:
        details.append(entry.model)
    if entry.width and entry.height:
        # The image's own shape: an edit keeps its input's proportions whatever ratio was asked for.
        ratio = f"{entry.aspect_ratio} · " if entry.aspect_ratio else ""
        shape = size_orientation(entry.width, entry.height)
        details.append(f"{ratio}{entry.width} × {entry.height} px {shape}")
    elif entry.aspect_ratio:
        details.append(f"{entry.aspect_ratio} {orientation(entry.aspect_ratio)}")
    if entry.credits_used is not None:
        details.append(credits_text(entry.credits_used))
    details.append(datetime.fromtimestamp(entry.created_at).strftime("%d %b %Y, %H:%M"))
    return f"{escape_markdown(shorten(entry.prompt, prompt_limit))}  \n{escape_markdown(' · '.join(details))}"


def stored_png(store: HistoryStoreBase, entry: HistoryEntry) -> bytes:
    """The Download file of an entry: its stored PNG (settings in its text chunks), read at the click."""
    return store.image_png(entry.workspace_id, entry.id) or b""


def _stored_jpeg(store: HistoryStoreBase, workspace_id: str, entry_id: str, colour: str) -> bytes:
    """A JPEG of the stored image on a solid colour, made only when the person clicks Download."""
    png = store.image_png(workspace_id, entry_id)
    return to_jpeg(png, colour) if png else b""


def png_download(store: HistoryStoreBase, entry: HistoryEntry, *, key: str, label: str = "Download PNG",
                 width: Width = "content") -> None:
    """A Download PNG button whose file (settings in its text chunks) is read from the store on click."""
    _download(label, partial(stored_png, store, entry), download_name(entry),
              "image/png", key, width)


def jpeg_download(store: HistoryStoreBase, entry: HistoryEntry, colour: str, *, key: str, label: str) -> None:
    """A Download JPG button: the stored image flattened onto `colour`, built on click."""
    _download(label, partial(_stored_jpeg, store, entry.workspace_id, entry.id, colour),
              download_name(entry, "jpg"), "image/jpeg", key, "content")


def _download(
    label: str, build: Callable[[], bytes], file_name: str, mime: str, key: str, width: Width
) -> None:
    # A callable is only run when clicked, so no file sits in server memory per button; "ignore" skips a
    # rerun, so the page stays as it is.
    st.download_button(label, data=build, file_name=file_name, mime=mime, key=key, on_click="ignore",
                       icon=":material/download:", width=width)


def send_buttons(
    store: HistoryStoreBase, entry: HistoryEntry, *, key: str, width: Width = "content"
) -> str | None:
    """Use as input and Remove background: one click takes the image to that page; why not, if it can't."""
    if st.button("Use as input", key=f"{key}_use_as_input", icon=":material/input:", width=width,
                 disabled=not entry.has_image, help="Add this image to Generate's input images."):
        return carried_inputs.use_as_input(store, entry)  # opens Generate, or says why not
    if st.button("Remove background", key=f"{key}_remove_background", icon=":material/content_cut:",
                 width=width, disabled=not entry.has_image,
                 help="Open Remove background with this image as the photo to cut out."):
        carried_inputs.send_to_remove_background(entry)
    return None


def result_card(store: HistoryStoreBase, entry: HistoryEntry, *, key: str, is_preview: bool = False,
                actions: bool = True) -> None:
    """A finished image, large and lossless, with Download PNG (and Use as input…) and its settings."""
    png = store.image_png(entry.workspace_id, entry.id)
    if png is None:
        st.warning("This result is no longer in history (it was deleted).", icon=":material/delete:")
        return
    # output_format="PNG" keeps it lossless; the image's own width means Streamlit never re-encodes it
    # (the browser still fits it to the column).
    st.image(png, output_format="PNG", width=entry.width or "stretch")
    if is_preview:
        st.caption(f":material/info: {PREVIEW_NOTE}")
    with st.container(horizontal=True):
        png_download(store, entry, key=f"{key}_download")
        problem = send_buttons(store, entry, key=key) if actions else None
    if problem:
        st.warning(problem, icon=":material/input:")
    st.caption(describe(entry))


def unsaved_result_card(png: bytes, entry: HistoryEntry | None, *, key: str) -> None:
    """A paid-for image History could not keep: shown, and downloadable from this session's memory."""
    st.image(png, output_format="PNG")
    # Bytes, not a callable: there is no stored file to read at the click. One image, until the next result.
    name = download_name(entry) if entry else "image-studio.png"
    st.download_button("Download PNG", data=png, file_name=name, mime="image/png", key=f"{key}_download",
                       on_click="ignore", icon=":material/download:")
    if entry:
        st.caption(describe(entry))
    st.caption(":material/warning: Not in History: download it now. It is kept only until your next result.")


def show_additions(original: str, enhanced: str) -> None:
    """The enhanced prompt with what was added highlighted, so the change is visible at a glance."""
    pieces = []
    for text, added in added_parts(original, enhanced):
        escaped = html.escape(text)  # people's text is shown, never interpreted as markup
        pieces.append(f"<mark style='background:#e3dcff'>{escaped}</mark>" if added else escaped)
    st.html(f'<div style="line-height:1.6;white-space:pre-wrap">{"".join(pieces)}</div>')
