"""The Remove background result: before and after, on a checkerboard or a solid colour, with downloads."""

from __future__ import annotations

import streamlit as st

from lib.thumbnails import on_checkerboard, on_colour
from lib.store import HistoryEntry, HistoryStore
from lib.ui import result_cards

BACKDROPS = ("Checkerboard", "Solid colour")


def before_and_after(store: HistoryStore, original: bytes | None, entry: HistoryEntry | None, *,
                     is_preview: bool) -> None:
    """The uploaded photo beside its cut-out (either may be missing), then the cut-out's downloads."""
    png = store.image_png(entry.workspace_id, entry.id) if entry else None
    colour = "#ffffff"
    if png:
        backdrop_column, colour_column = st.columns([3, 1], vertical_alignment="bottom")
        backdrop = backdrop_column.segmented_control("Preview on", BACKDROPS, key="remove_background_on",
                                                     default=BACKDROPS[0], required=True)
        colour = colour_column.color_picker("Colour", colour, key="remove_background_colour",
                                            help="The solid colour for the preview and for Download JPG.")
    before, after = st.columns(2, gap="large")
    if original is not None:
        with before:
            st.subheader("Before")
            st.image(original, width="stretch")
    if png:
        with after:
            st.subheader("After")
            # A checkerboard shows what is transparent, and any halo left around the subject.
            shown = on_checkerboard(png) if backdrop == BACKDROPS[0] else on_colour(png, colour)
            st.image(shown, output_format="PNG", width="stretch")
            if is_preview:
                st.caption(f":material/info: {result_cards.PREVIEW_NOTE}")
        png_column, jpeg_column = st.columns(2)
        with png_column:
            result_cards.png_download(store, entry, key="remove_background_png",
                                    label="Download PNG (transparent)")
        with jpeg_column:
            result_cards.jpeg_download(store, entry, colour, key="remove_background_jpg",
                                     label=f"Download JPG on {colour}")
