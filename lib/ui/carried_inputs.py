"""Input images carried from a History item into the Generate form: shown, removable, sent with Generate.

A file uploader cannot be filled by the app, so a reused edit's inputs are shown here instead. The session
keeps only where they are in History and small thumbnails; the images are read from History when sent.
"""

from __future__ import annotations

import streamlit as st

from lib.images import ImageInputError
from lib.store import HistoryEntry, HistoryStore
from lib.workspace import InputImage, check_upload

CARRIED = "generate_carried_inputs"  # {"workspace_id", "entry_id", "thumbnails", "kept"}: no full images


def _name(index: int) -> str:
    return f"input {index + 1}"


def carry_over(store: HistoryStore, entry: HistoryEntry) -> int:
    """Bring an entry's input images to the next Generate (thumbnails kept, images left in History)."""
    st.session_state.pop(CARRIED, None)
    images = store.input_images(entry.workspace_id, entry.id)
    thumbnails: list[bytes | None] = []
    for index, data in enumerate(images):
        try:
            thumbnails.append(check_upload(InputImage(_name(index), data)))
        except ImageInputError:
            thumbnails.append(None)  # unreadable now: left out rather than sent broken
    kept = [index for index, thumbnail in enumerate(thumbnails) if thumbnail is not None]
    if kept:
        st.session_state[CARRIED] = {"workspace_id": entry.workspace_id, "entry_id": entry.id,
                                     "thumbnails": thumbnails, "kept": kept}
    return len(kept)


def forget() -> None:
    """Drop the carried-over inputs (the form now holds something else)."""
    st.session_state.pop(CARRIED, None)


def count() -> int:
    """How many carried-over input images the next Generate will send."""
    carried = st.session_state.get(CARRIED)
    return len(carried["kept"]) if carried else 0


def _remove(index: int) -> None:
    carried = st.session_state.get(CARRIED)
    if carried and index in carried["kept"]:
        carried["kept"].remove(index)
        if not carried["kept"]:
            forget()


def show() -> None:
    """The carried-over input images, each with a Remove button (positional keys, never entry ids)."""
    carried = st.session_state.get(CARRIED)
    if not carried:
        return
    kept = carried["kept"]
    st.caption(f"{len(kept)} input image{'' if len(kept) == 1 else 's'} from History (sent with Generate):")
    with st.container(horizontal=True, key="generate_carried"):
        for position, index in enumerate(kept):
            with st.container(width=110):
                st.image(carried["thumbnails"][index], caption=_name(index), width=96)
                st.button("Remove", key=f"generate_carried_remove_{position}", on_click=_remove,
                          args=(index,), icon=":material/close:", help=f"Don't send {_name(index)}.")


def images(store: HistoryStore) -> list[InputImage] | None:
    """The kept input images read from History now; None when History no longer has them."""
    carried = st.session_state.get(CARRIED)
    if not carried:
        return []
    stored = store.input_images(carried["workspace_id"], carried["entry_id"])
    if len(stored) != len(carried["thumbnails"]):
        forget()
        return None
    return [InputImage(_name(index), stored[index]) for index in carried["kept"]]
