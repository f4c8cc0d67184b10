"""The Remove background result: before and after, on a checkerboard or a solid colour, with downloads."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import partial
from typing import Any

import streamlit as st

from lib.contract import BACKGROUND_REMOVAL_CREDITS, credits_text
from lib.errors import ImageStudioError
from lib.history_entry import HistoryEntry
from lib.history_store_base import HistorySaveError
from lib.thumbnails import on_checkerboard, on_colour, to_jpeg
from lib.ui import carried_inputs, result_cards, session
from lib.ui.markdown_text import escape_markdown, shorten
from lib.ui.upload_checks import CheckedUpload
from lib.workspace import (
    InputImage,
    Outcome,
    bulk_count_problem,
    cutouts_credits,
    cutouts_zip,
    download_name,
)

BACKDROPS = ("Checkerboard", "Solid colour")
LAST = "remove_background_last"  # {"entry_id", "file_id", "preview"} of the latest cut-out: ids only
# {"png", "entry", "file_id"}: a paid cut-out History could not keep. One image, dropped with the next result.
UNSAVED = "remove_background_unsaved"
# {file_id: {"entry_id", "preview"} or {"error", "unsaved"?}} of several photos: ids and messages, no images
# (except a rare cut-out History could not keep).
BULK = "remove_background_bulk"
BULK_THUMBNAIL_SIDE = 160


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


def offers_history_photo(*, uploaded: bool) -> bool:
    """True when an image sent from History waits to be cut out; a photo uploaded since takes its place."""
    if uploaded:
        carried_inputs.drop_photo_to_cut_out()
    return carried_inputs.photo_to_cut_out() is not None


def history_photo_cutout() -> None:
    """The image sent from History as the photo: labelled, with Drop, then Remove background and results."""
    offered = carried_inputs.photo_to_cut_out()
    if offered is None:
        return
    store = session.history_store()
    png = store.image_png(offered["workspace_id"], offered["entry_id"])
    if png is None:
        carried_inputs.drop_photo_to_cut_out()
        st.warning("The image sent from History was deleted there: upload a photo instead.",
                   icon=":material/delete:")
        return
    with st.container(horizontal=True, vertical_alignment="center", key="remove_background_from_history"):
        if offered["thumbnail"]:
            st.image(offered["thumbnail"], width=96)
        st.markdown(f"**From History:** {escape_markdown(shorten(offered['title'], 120))}")
        # An uploader cannot be filled by the app: this stands in for it until dropped or replaced.
        st.button("Drop", key="remove_background_drop_history", icon=":material/close:",
                  on_click=carried_inputs.drop_photo_to_cut_out,
                  help="Don't cut this image out: upload a photo instead.")
    cost = credits_text(BACKGROUND_REMOVAL_CREDITS)
    file_id = f"history-{offered['entry_id']}"  # keeps its cut-out on show, like an upload's file id
    if st.button(f"Remove background ({cost})", key="remove_background_run", type="primary",
                 icon=":material/content_cut:"):
        # Saved like an upload, named after the History item (a prompt's slashes are not folders).
        name = re.sub(r"\s*[\\/]+\s*", " ", offered["title"])
        remove_background(InputImage(name, png), file_id)
    if warning := result_cards.too_few_credits(BACKGROUND_REMOVAL_CREDITS):
        st.warning(warning, icon=":material/savings:")
    before_and_after(png, file_id)


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


def bulk_cutouts(uploads: Sequence[CheckedUpload], file_ids: Sequence[str]) -> None:
    """Several photos: one button cuts out those not done yet, at once; then each before/after and a zip."""
    results: dict[str, dict[str, Any]] = st.session_state.setdefault(BULK, {})
    for file_id in [file_id for file_id in results if file_id not in file_ids]:
        del results[file_id]  # a photo removed from the uploader takes its result along
    too_many = bulk_count_problem(len(uploads))
    if too_many:
        st.error(too_many, icon=":material/photo_library:")
    # Photos already cut out are not sent (nor paid for) again; failed ones are tried again.
    pending = [(upload, file_id) for upload, file_id in zip(uploads, file_ids, strict=True)
               if upload.problem is None and "entry_id" not in results.get(file_id, {})]
    cost = credits_text(cutouts_credits(len(pending)))
    label = f"Remove background from {len(pending)} photo{'' if len(pending) == 1 else 's'} ({cost})"
    run = st.button(label, key="remove_background_run", type="primary", icon=":material/content_cut:",
                    disabled=bool(too_many) or not pending,
                    help=None if pending else "Every photo here is cut out already.")
    if run and pending and not too_many and _cut_out_all(pending, results):
        st.rerun()  # drawn again from the results: the button then counts only what is left to do
    if warning := result_cards.too_few_credits(cutouts_credits(len(pending))):
        st.warning(warning, icon=":material/savings:")
    _bulk_results(uploads, file_ids, results)


def _cut_out_all(pending: Sequence[tuple[CheckedUpload, str]], results: dict[str, dict[str, Any]]) -> bool:
    """Send the photos at once with a progress bar; keep each entry id or error. False: none was sent."""
    try:
        finished = session.current_workspace().remove_backgrounds([upload.image for upload, _ in pending])
    except ImageStudioError as error:  # too many, or the budget can't pay for all: nothing was sent
        result_cards.show_error(error)
        return False
    count = len(pending)
    progress = st.progress(0.0, text=f"Removing backgrounds: 0 of {count} done…")
    for done, (index, outcome) in enumerate(finished, start=1):
        file_id = pending[index][1]
        if isinstance(outcome, Outcome):
            session.count_credits(outcome)
            results[file_id] = {"entry_id": outcome.entry.id, "preview": outcome.is_preview}
        else:
            results[file_id] = {"error": result_cards.error_text(outcome)}
            if isinstance(outcome, HistorySaveError) and outcome.image_png:
                # Paid for but not in History: this one image stays downloadable (in the zip) for now.
                name = download_name(outcome.entry) if outcome.entry else f"unsaved-{index + 1}-cutout.png"
                results[file_id]["unsaved"] = (name, outcome.image_png)
        progress.progress(done / count, text=f"Removing backgrounds: {done} of {count} done…")
    progress.empty()
    return True


def _bulk_results(
    uploads: Sequence[CheckedUpload], file_ids: Sequence[str], results: dict[str, dict[str, Any]]
) -> None:
    """Each photo's thumbnail beside its cut-out (or why it failed), then Download all (zip)."""
    store = session.history_store()
    workspace_id = session.workspace_id()
    entry_ids: list[str] = []
    unsaved: list[tuple[str, bytes]] = []
    for upload, file_id in zip(uploads, file_ids, strict=True):
        before, after = st.columns(2, vertical_alignment="center")
        if upload.thumbnail:
            before.image(upload.thumbnail, caption=escape_markdown(upload.image.name),
                         width=BULK_THUMBNAIL_SIDE)
        elif upload.problem:
            before.error(escape_markdown(upload.problem), icon=":material/broken_image:")
        result = results.get(file_id, {})
        entry = store.get(workspace_id, result["entry_id"]) if "entry_id" in result else None
        if entry and entry.thumbnail:
            entry_ids.append(entry.id)
            # The stored thumbnail (a few KB), never the full cut-out: twenty of them stay light.
            after.image(on_checkerboard(entry.thumbnail, square=8),
                        caption=escape_markdown(download_name(entry)),
                        output_format="PNG", width=BULK_THUMBNAIL_SIDE)
        elif "error" in result:
            after.error(result["error"], icon=":material/error:")
        if "unsaved" in result:
            unsaved.append(result["unsaved"])
    if entry_ids or unsaved:
        count = len(entry_ids) + len(unsaved)
        st.download_button(f"Download all (zip, {count} PNG{'' if count == 1 else 's'})",
                           data=partial(cutouts_zip, store, workspace_id, entry_ids, unsaved),
                           file_name="image-studio-cutouts.zip", mime="application/zip",
                           key="remove_background_zip", on_click="ignore", icon=":material/folder_zip:")
