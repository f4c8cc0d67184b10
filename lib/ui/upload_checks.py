"""Uploaded images: checked once per file (a clear message naming any bad one) and shown as thumbnails."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from lib.images import ImageInputError
from lib.ui.markdown_text import escape_markdown
from lib.workspace import InputImage, check_upload


@dataclass(frozen=True)
class CheckedUpload:
    """An upload with its thumbnail when it is a usable image, or the reason it is not."""

    image: InputImage
    thumbnail: bytes | None
    problem: str | None


def checked_uploads(
    files: Sequence[UploadedFile] | UploadedFile | None, state_key: str
) -> list[CheckedUpload]:
    """Check each upload once (results kept by file id in session state: thumbnails only, no images)."""
    if files is None:
        files = []
    elif isinstance(files, UploadedFile):
        files = [files]
    known: dict[str, tuple[bytes | None, str | None]] = st.session_state.setdefault(state_key, {})
    checked = []
    for file in files:
        image = InputImage(file.name, file.getvalue())
        if file.file_id not in known:
            try:
                known[file.file_id] = (check_upload(image), None)
            except ImageInputError as error:
                known[file.file_id] = (None, str(error))
        thumbnail, problem = known[file.file_id]
        checked.append(CheckedUpload(image, thumbnail, problem))
    # Forget files that were removed, so the cache never outgrows what is on screen.
    current = {file.file_id for file in files}
    for file_id in [file_id for file_id in known if file_id not in current]:
        del known[file_id]
    return checked


def show_checked(uploads: Sequence[CheckedUpload]) -> bool:
    """Thumbnails of the good uploads and a message for each bad one; True when all are usable."""
    thumbnails = [upload.thumbnail for upload in uploads if upload.thumbnail is not None]
    if thumbnails:
        # File names are the uploader's text, shown as typed (captions and messages render Markdown).
        names = [escape_markdown(upload.image.name) for upload in uploads if upload.thumbnail is not None]
        st.image(thumbnails, caption=names, width=120)
    for upload in uploads:
        if upload.problem:
            st.error(escape_markdown(upload.problem), icon=":material/broken_image:")
    return all(upload.problem is None for upload in uploads)
