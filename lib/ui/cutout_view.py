"""The Remove background result: before and after, on a checkerboard or a solid colour, with downloads."""

from __future__ import annotations

from functools import partial

import streamlit as st

from lib.errors import ImageStudioError
from lib.store import HistoryEntry, HistorySaveError
from lib.thumbnails import on_checkerboard, on_colour, to_jpeg
from lib.ui import result_cards, session
from lib.workspace import InputImage, download_name

BACKDROPS = ("Checkerboard", "Solid colour")
LAST = "remove_background_last"  # {"entry_id", "file_id", "preview"} of the latest cut-out: ids only
# {"png", "entry", "file_id"}: a paid cut-out History could not keep. One image, dropped with the next result.
UNSAVED = "remove_background_unsaved"


def remove_background(photo: InputImage, file_id: str) -> None:
    """Cut the photo out; keep the result's id, or the image itself when History could not keep it."""
    try:
        with st.spinner("Removing the background…", show_time=True):
            outcome = session.current_workspace().remove_background(photo)
    except HistorySaveError as error:
        result_cards.show_error(error)
        st.session_state.pop(LAST, None)
        if error.image_png:
            st.session_state[UNSAVED] = {"png": error.image_png, "entry": error.entry, "file_id": file_id}
    except ImageStudioError as error:
        result_cards.show_error(error)
    else:
        session.count_credits(outcome)
        st.session_state[LAST] = {"entry_id": outcome.entry.id, "file_id": file_id,
                                  "preview": outcome.is_preview}
        st.session_state.pop(UNSAVED, None)


def _latest_cutout(file_id: str | None) -> tuple[bytes | None, HistoryEntry | None, bool, bool]:
    """The cut-out of the photo on screen: (PNG, its entry, kept in History?, preview?)."""
    # The latest cut-out stays on show until another photo is chosen (it is in History either way).
    unsaved = st.session_state.get(UNSAVED)
    if unsaved and unsaved["file_id"] == file_id:
        return unsaved["png"], unsaved["entry"], False, False
    last = st.session_state.get(LAST)
    if not last or last["file_id"] != file_id:
        return None, None, True, False
    store = session.history_store()
    entry = store.get(session.workspace_id(), last["entry_id"])
    png = store.image_png(entry.workspace_id, entry.id) if entry else None
    return png, entry, True, bool(last["preview"])


def before_and_after(original: bytes | None, file_id: str | None) -> None:
    """The uploaded photo beside its latest cut-out (either may be missing), then the cut-out's downloads."""
    png, entry, saved, is_preview = _latest_cutout(file_id)
    colour = "#ffffff"
    backdrop = BACKDROPS[0]
    if png:
        backdrop_column, colour_column = st.columns([3, 1], vertical_alignment="bottom")
        backdrop = backdrop_column.segmented_control("Preview on", BACKDROPS, key="remove_background_on",
                                                     default=BACKDROPS[0], required=True) or BACKDROPS[0]
        colour = colour_column.color_picker("Colour", colour, key="remove_background_colour",
                                            help="The solid colour for the preview and for Download JPG.")
    before, after = st.columns(2, gap="large")
    if original is not None:
        with before:
            st.subheader("Before")
            st.image(original, width="stretch")
    if not png:
        return
    with after:
        st.subheader("After")
        # A checkerboard shows what is transparent, and any halo left around the subject.
        shown = on_checkerboard(png) if backdrop == BACKDROPS[0] else on_colour(png, colour)
        st.image(shown, output_format="PNG", width="stretch")
        if is_preview:
            st.caption(f":material/info: {result_cards.PREVIEW_NOTE}")
        if not saved:
            st.caption(":material/warning: Not in History: download it now. It is kept only until your "
                       "next result.")
    png_column, jpeg_column = st.columns(2)
    if saved and entry:
        with png_column:
            result_cards.png_download(session.history_store(), entry, key="remove_background_png",
                                      label="Download PNG (transparent)")
        with jpeg_column:
            result_cards.jpeg_download(session.history_store(), entry, colour, key="remove_background_jpg",
                                       label=f"Download JPG on {colour}")
        return
    # Not in History: the downloads come from the one image this session holds.
    name = download_name(entry) if entry else "image-studio-cutout.png"
    png_column.download_button("Download PNG (transparent)", data=png, file_name=name, mime="image/png",
                               key="remove_background_png", on_click="ignore", icon=":material/download:")
    jpeg_column.download_button(f"Download JPG on {colour}", data=partial(to_jpeg, png, colour),
                                file_name=name.removesuffix(".png") + ".jpg", mime="image/jpeg",
                                key="remove_background_jpg", on_click="ignore", icon=":material/download:")
