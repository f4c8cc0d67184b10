"""What every history store does the same way: saving a result, reading its images, the export zip.

HistoryStoreBase holds those algorithms once; each backend (lib.store's SQLite and files, the shared
mode's PostgreSQL and objects) supplies the small primitives that read and write its rows and images.
"""

from __future__ import annotations

import abc
import builtins
import hashlib
import io
import json
import logging
import re
import secrets
import shutil
import tempfile
import textwrap
import time
import unicodedata
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Self

from PIL import Image, ImageOps

from lib.contract import MAX_INPUT_IMAGES
from lib.errors import ImageStudioError
from lib.history_entry import (
    KINDS_WITH_INPUTS,
    HistoryEntry,
    _check_kind,
    _check_workspace_id,
    _valid_ids,
    is_valid_workspace_id,
)
from lib.images import encode_png, to_rgb_or_rgba
from lib.png_metadata import embed_settings
from lib.thumbnails import thumbnail_of

SETTINGS_FILE = "history.json"
INPUTS_FOLDER = "inputs"
# Leftovers younger than this may belong to a save still in progress (in another process): left alone.
LEFTOVER_MIN_AGE_SECONDS = 300.0

_MAX_INPUTS = max(MAX_INPUT_IMAGES.values())
_MAX_SOURCE_NAME_CHARS = 255

# Entries read per query while exporting: no read stays open across a long export.
_EXPORT_BATCH = 256


class HistorySaveError(ImageStudioError):
    """A result arrived but could not be kept in history (disk full, no permission, database trouble).

    The result is not lost: `entry` is what would have been saved (its settings, its download name) and
    `image_png` the image with those settings embedded (None for an enhanced prompt, whose text is in
    `entry.text`), so the page can still offer it for download in this session.
    """

    def __init__(self, message: str, *, entry: HistoryEntry | None = None, image_png: bytes | None = None,
                 request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)
        self.entry = entry
        self.image_png = image_png

    @property
    def settings(self) -> dict[str, Any] | None:
        """The unsaved result's settings (as its PNG carries them), or None when unknown."""
        return self.entry.settings() if self.entry is not None else None


@dataclass(frozen=True)
class _InputFile:
    """An input image ready to keep: its content-addressed file name and its bytes."""

    name: str
    data: bytes = field(repr=False)


class HistoryStoreBase(abc.ABC):
    """What every history store does the same way, whatever holds its rows and images.

    The algorithms (saving a result, reading images, the export zip) live here once; each backend supplies
    small primitives: where rows and images are read and written, and how a failed save is described.
    """

    # The failures a save turns into a HistorySaveError, and the log that tells operators about them.
    _SAVE_ERRORS: tuple[type[BaseException], ...] = (OSError,)
    _HISTORY_NAME = "history"

    # -- writing -------------------------------------------------------------------------------------

    def add(self, workspace_id: str, kind: str, *, prompt: str, image_png: bytes | None = None,
            model: str | None = None, aspect_ratio: str | None = None, credits_used: int | None = None,
            text: str | None = None, input_images: Sequence[bytes] = (),
            source_name: str | None = None) -> HistoryEntry:
        """Save one result (image first, then its rows) and return it; any decodable image is kept as PNG.

        input_images are the images an edit or cut-out was made from, each stored once per workspace;
        source_name is the uploaded file's name, kept for cut-outs' captions and downloads. Bad input is a
        ValueError; a storage or database failure is a HistorySaveError that carries the unsaved result.
        """
        _check_workspace_id(workspace_id)
        _check_kind(kind, image_png, text)
        if not isinstance(prompt, str):
            raise ValueError("prompt must be text")
        inputs = _input_files(kind, input_images)

        png, width, height, thumb = None, None, None, None
        if image_png is not None:
            png, width, height, thumb = _prepare_image(image_png)
        entry = HistoryEntry(
            id=secrets.token_hex(12), workspace_id=workspace_id, kind=kind, prompt=prompt, model=model,
            aspect_ratio=aspect_ratio, created_at=time.time(), credits_used=credits_used, width=width,
            height=height, text=text, thumbnail=thumb, has_image=png is not None,
            source_name=_clean_source_name(source_name) if kind == "cutout" else None,
            input_count=len(inputs),
        )
        stored_png = embed_settings(png, entry.settings()) if png is not None else None
        try:
            self._save(entry, stored_png, inputs)
        except self._SAVE_ERRORS as exc:
            logging.getLogger(type(self).__module__).warning(
                "Could not save a %s to %s: %s", kind, self._HISTORY_NAME, self._failure_cause(exc))
            raise HistorySaveError(self._failure_message(kind, exc), entry=entry,
                                   image_png=stored_png) from exc
        return entry

    @abc.abstractmethod
    def delete(self, workspace_id: str, entry_id: str) -> bool:
        """Remove an entry, its image and any input image no other entry uses; False when there is none."""

    @abc.abstractmethod
    def adopt_workspace(self, old_id: str, new_id: str) -> int:
        """Move every entry of old_id (rows, thumbnails, images, inputs) to new_id; returns how many moved."""

    # -- reading -------------------------------------------------------------------------------------

    @abc.abstractmethod
    def list(self, workspace_id: str, *, kind: str | None = None, limit: int = 24, offset: int = 0,
             search: str | None = None) -> builtins.list[HistoryEntry]:
        """One page of a workspace's entries, newest first (thumbnails included, full images not)."""

    @abc.abstractmethod
    def count(self, workspace_id: str, *, kind: str | None = None, search: str | None = None) -> int:
        """Number of entries in a workspace (optionally of one kind, matching a search as list() does)."""

    @abc.abstractmethod
    def get(self, workspace_id: str, entry_id: str) -> HistoryEntry | None:
        """One entry of this workspace, or None (also for another workspace's entry)."""

    def image_png(self, workspace_id: str, entry_id: str) -> bytes | None:
        """The stored PNG with its settings in text chunks, or None when there is no such image."""
        if not _valid_ids(workspace_id, entry_id) or not self._has_image(workspace_id, entry_id):
            return None
        return self._read_image(workspace_id, entry_id)  # None: deleted from another tab a moment ago

    def input_images(self, workspace_id: str, entry_id: str) -> builtins.list[bytes]:
        """The input images an entry was made from, in the order they were sent ([] when none)."""
        if not _valid_ids(workspace_id, entry_id):
            return []
        found = (self._read_input(workspace_id, name) for name in self._input_names(entry_id, workspace_id))
        return [data for data in found if data is not None]  # missing: entry deleted meanwhile

    # -- export --------------------------------------------------------------------------------------

    def export_zip(self, workspace_id: str) -> bytes:
        """A zip of every image of the workspace, their input images, and history.json (newest first)."""
        buffer = io.BytesIO()
        self.write_zip(workspace_id, buffer)
        return buffer.getvalue()

    def write_zip(self, workspace_id: str, out: BinaryIO) -> int:
        """Write the export zip to a binary file object, one image in memory at a time; returns images.

        Input images go in inputs/, each once however many entries used it; history.json lists each
        entry's inputs by their names in the zip.
        """
        digits = max(3, len(str(self.count(workspace_id))))
        images = 0
        written_inputs: set[str] = set()
        # history.json goes last (it names the files actually written) and is spooled to disk as it grows,
        # so a long history costs no more memory than a short one.
        with zipfile.ZipFile(out, "w") as archive, \
                tempfile.SpooledTemporaryFile(max_size=1_000_000, mode="w+b") as history:
            history.write(b"[")
            for entry in self._iter_entries(workspace_id):
                name = None
                if entry.has_image:
                    data = self._read_image(workspace_id, entry.id)
                    if data is None:  # deleted while exporting: leave it out
                        continue
                    images += 1
                    name = f"{images:0{digits}d}-{entry.kind}-{entry.file_words}.png"
                    _write_member(archive, name, data, entry.created_at)
                inputs = self._export_inputs(archive, entry, written_inputs) if entry.input_count else []
                item = json.dumps({**entry.settings(), "file": name, "inputs": inputs},
                                  ensure_ascii=False, indent=2)
                separator = "," if history.tell() > 1 else ""
                history.write(f"{separator}\n{textwrap.indent(item, '  ')}".encode())
            history.write(b"\n]\n")
            history.seek(0)
            info = zipfile.ZipInfo(SETTINGS_FILE, date_time=_zip_time(time.time()))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as member:
                shutil.copyfileobj(history, member)
        return images

    # -- upkeep and lifecycle ------------------------------------------------------------------------

    @abc.abstractmethod
    def sweep_leftovers(self, min_age_seconds: float = LEFTOVER_MIN_AGE_SECONDS) -> int:
        """Remove what a crash left behind (images and inputs no row lists); returns how many."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the database connections; the store is unusable afterwards."""

    def __enter__(self) -> Self:
        """The store itself, closed when the block ends."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the store."""
        self.close()

    # -- the primitives each backend supplies --------------------------------------------------------

    @abc.abstractmethod
    def _save(self, entry: HistoryEntry, stored_png: bytes | None, inputs: Sequence[_InputFile]) -> None:
        """Write the entry's image and inputs, then its rows; on failure nothing of it remains."""

    @abc.abstractmethod
    def _failure_cause(self, exc: BaseException) -> str:
        """A short cause of a failed save for the log (never a path, URL or key)."""

    @abc.abstractmethod
    def _failure_message(self, kind: str, exc: BaseException) -> str:
        """The plain-words message of a failed save."""

    @abc.abstractmethod
    def _has_image(self, workspace_id: str, entry_id: str) -> bool:
        """True when this workspace has this entry and its row says it has an image."""

    @abc.abstractmethod
    def _read_image(self, workspace_id: str, entry_id: str) -> bytes | None:
        """An entry's stored PNG, or None when it is not there (deleted meanwhile)."""

    @abc.abstractmethod
    def _read_input(self, workspace_id: str, file: str) -> bytes | None:
        """A kept input image, or None when it is not there (deleted meanwhile)."""

    @abc.abstractmethod
    def _input_names(self, entry_id: str, workspace_id: str | None = None) -> builtins.list[str]:
        """The file names of an entry's input images in the order sent (only in workspace_id when given)."""

    @abc.abstractmethod
    def _entries_page(self, workspace_id: str, after: tuple[float, int] | None,
                      limit: int) -> builtins.list[tuple[HistoryEntry, int]]:
        """Up to limit (entry without thumbnail, seq) of a workspace, newest first, older than after."""

    def _export_inputs(
        self, archive: zipfile.ZipFile, entry: HistoryEntry, written: set[str]
    ) -> builtins.list[str]:
        """Add an entry's input images to the zip (each file once) and return their names in it."""
        names = []
        for file in self._input_names(entry.id):
            member = f"{INPUTS_FOLDER}/{file}"
            if member not in written:
                data = self._read_input(entry.workspace_id, file)
                if data is None:
                    continue
                _write_member(archive, member, data, entry.created_at)
                written.add(member)
            names.append(member)
        return names

    def _iter_entries(self, workspace_id: str) -> Iterator[HistoryEntry]:
        """Every entry of a workspace, newest first, in batches, without holding a read open between them."""
        if not is_valid_workspace_id(workspace_id):
            return
        after: tuple[float, int] | None = None
        while True:
            page = self._entries_page(workspace_id, after, _EXPORT_BATCH)
            for entry, _seq in page:
                yield entry
            if len(page) < _EXPORT_BATCH:
                return
            last, seq = page[-1]
            after = (last.created_at, seq)


def _prepare_image(data: bytes) -> tuple[bytes, int, int, bytes]:
    """(PNG, width, height, thumbnail) from one full decode; a PNG is kept byte for byte, others converted."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # a truncated or corrupt file fails here, before anything is written
            thumb = thumbnail_of(image)
            if image.format == "PNG":
                return bytes(data), image.width, image.height, thumb
            converted = to_rgb_or_rgba(ImageOps.exif_transpose(image))
            return encode_png(converted), converted.width, converted.height, thumb
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"the image could not be read: {exc}") from exc


def _input_files(kind: str, images: Sequence[bytes]) -> list[_InputFile]:
    """Name each input image by its content (SHA-256 and format), refusing what can't be an image."""
    if isinstance(images, bytes | bytearray | str):
        raise ValueError("input_images must be a list of images, not one")
    if images and kind not in KINDS_WITH_INPUTS:
        raise ValueError(f"a {kind} has no input images")
    if len(images) > _MAX_INPUTS:
        raise ValueError(f"at most {_MAX_INPUTS} input images are kept with an entry")
    files = []
    for position, data in enumerate(images, start=1):
        if not isinstance(data, bytes | bytearray) or not data:
            raise ValueError(f"input image {position} is not image data")
        extension = _image_extension(bytes(data))
        if extension is None:
            raise ValueError(f"input image {position} could not be read as an image")
        files.append(_InputFile(f"{hashlib.sha256(data).hexdigest()}.{extension}", bytes(data)))
    return files


def _image_extension(data: bytes) -> str | None:
    """File extension for the image format of data (from its header alone), or None when not an image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the header only: no pixels
            with Image.open(io.BytesIO(data)) as image:
                image_format = (image.format or "").lower()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    extension = {"jpeg": "jpg", "mpo": "jpg", "tiff": "tif"}.get(image_format, image_format)
    return extension if re.fullmatch(r"[a-z0-9]{2,5}", extension) else "img"


def _clean_source_name(name: str | None) -> str | None:
    """The uploaded file's own name: no folders, no control characters, at most 255 characters."""
    if not isinstance(name, str):
        return None
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in base if not unicodedata.category(ch).startswith("C")).strip()
    return base[:_MAX_SOURCE_NAME_CHARS] or None


def _write_member(archive: zipfile.ZipFile, name: str, data: bytes, created_at: float) -> None:
    """Add one image to the export zip, stored as it is (PNG and JPEG are compressed already)."""
    info = zipfile.ZipInfo(name, date_time=_zip_time(created_at))
    info.compress_type = zipfile.ZIP_STORED
    archive.writestr(info, data)


def _unsaved_message(kind: str, why: str) -> str:
    """The plain-words message of a failed save: what is not lost, why it failed, and what to do."""
    made = "The prompt was enhanced" if kind == "enhancement" else "The image was made"
    keep = "copy it now" if kind == "enhancement" else "download it now, as it is not in History"
    return (f"{made} but could not be saved to history: {why}. "
            f"It is still shown here for this session: {keep}.")


def _zip_time(epoch: float) -> tuple[int, int, int, int, int, int]:
    """Local date and time for a zip member (zip cannot store dates before 1980)."""
    return tuple(time.localtime(max(epoch, 315_532_800.0 + 86_400))[:6])  # type: ignore[return-value]
