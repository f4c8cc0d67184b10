"""Workspace ids that only this deployment can mint, so nobody can plant a workspace link on someone.

A workspace id travels in the page URL (`?ws=`), and whoever opens a link sees that workspace. If any
string were adopted, someone could hand a colleague a link and later read what they made there. So an
id is a random part plus an HMAC-SHA256 tag of it under a server-side secret, and a link is adopted only
when its tag checks out. Every replica of one deployment must share the secret
(IMAGE_STUDIO_WORKSPACE_SECRET); with none configured, one is generated once and kept in the data folder.

Links made before ids were signed still reach their history, once: see open_workspace_link.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import os
import re
import secrets
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from lib.config import (
    WORKSPACE_SECRET_NAME,
    resolve_data_dir,
    resolve_workspace_secret,
    shared_mode_requested,
)
from lib.history_entry import is_valid_workspace_id
from lib.history_store_base import HistoryStoreBase
from lib.team import is_person_key

logger = logging.getLogger(__name__)

SECRET_FILE = "workspace-link-secret"
MIN_SECRET_CHARS = 16
_NONCE_CHARS = 24  # 18 random bytes in URL-safe base64
_TAG_CHARS = 22  # 16 bytes (128 bits) of HMAC-SHA256 in URL-safe base64, unpadded
_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{{_NONCE_CHARS + _TAG_CHARS}}}")
# Domain separation: the same secret could one day sign other things without their tags being confused.
_PURPOSE = b"image-studio workspace link v1\x00"


LEGACY_ID_CHARS = 32  # len(secrets.token_urlsafe(24)), the only shape 0.1 minted


def mint_workspace_id(secret: bytes) -> str:
    """A fresh workspace id carrying its own tag (46 URL-safe characters), valid only under this secret."""
    nonce = secrets.token_urlsafe(18)
    return nonce + _tag(nonce, secret)


def is_genuine_workspace_id(value: object, secret: bytes) -> TypeGuard[str]:
    """True only for an id minted under this secret (the tag is compared in constant time)."""
    if not isinstance(value, str) or not _SHAPE.fullmatch(value):
        return False
    nonce, tag = value[:_NONCE_CHARS], value[_NONCE_CHARS:]
    return hmac.compare_digest(tag, _tag(nonce, secret))


@dataclass(frozen=True)
class OpenedLink:
    """The workspace a link opens, and what to tell the person once about it (None: nothing to say)."""

    workspace_id: str
    notice: str | None = None


def open_workspace_link(value: object, secret: bytes, store: HistoryStoreBase) -> OpenedLink:
    """The workspace a link opens: its own when genuine; an old-style link's history moved to a fresh id.

    Why an unsigned id may still claim a history: nobody can create one any more. Every workspace the app
    writes to since ids were signed is minted (or is a signed-in person's key, never taken from a link),
    so a history under an unsigned id was made before the change, by whoever held that link. Its first
    opening moves it to a fresh signed id and leaves the old id empty: a link planted now opens an empty
    workspace, and a leaked old link is worth one claim, after which its owner's bookmark no longer works
    (they are told to bookmark the new address).
    """
    if is_genuine_workspace_id(value, secret):
        return OpenedLink(value)
    fresh = mint_workspace_id(secret)
    if not is_legacy_workspace_id(value, secret):
        return OpenedLink(fresh)
    try:
        moved = store.adopt_workspace(value, fresh)
    except (OSError, sqlite3.Error) as exc:  # rolled back: the old link still holds the whole history
        logger.warning("Could not move an old workspace link's history: %s", type(exc).__name__)
        return OpenedLink(fresh, "Your earlier history could not be opened just now; it is safe. Open your "
                                 "old link again in a moment to bring it back.")
    if not moved:
        return OpenedLink(fresh)
    items = "1 item" if moved == 1 else f"{moved} items"
    return OpenedLink(fresh, f"Your history ({items}) now lives at a new, private address: the one in your "
                             "browser's address bar. Bookmark it now: your old link will open an empty "
                             "workspace from now on.")


def is_legacy_workspace_id(value: object, secret: bytes) -> TypeGuard[str]:
    """True for an id shaped like the unsigned ones links carried before (never a person's history key).

    Release 0.1 minted every link id with token_urlsafe(24): exactly 32 characters. Nothing else counts,
    so a signed id made under another secret (a replica with a rotated or mismatched secret) is never
    mistaken for an old link and its history is never moved away.
    """
    return (isinstance(value, str) and len(value) == LEGACY_ID_CHARS and is_valid_workspace_id(value)
            and not is_genuine_workspace_id(value, secret) and not is_person_key(value))


def workspace_secret(secrets_mapping: Mapping[str, Any] | None, environ: Mapping[str, str]) -> bytes:
    """The deployment's link secret: configured (secrets, else environment), else kept in the data folder."""
    configured = resolve_workspace_secret(secrets_mapping, environ)
    if configured is not None:
        if len(configured) < MIN_SECRET_CHARS:
            raise ValueError(
                f"{WORKSPACE_SECRET_NAME} is too short to protect workspace links: use at least "
                f"{MIN_SECRET_CHARS} random characters (e.g. the output of `openssl rand -hex 32`)."
            )
        return configured.encode("utf-8")
    if shared_mode_requested(secrets_mapping, environ):  # replicas share no data folder to keep one in
        raise ValueError(f"History is shared by several machines, so every replica needs the same "
                         f"{WORKSPACE_SECRET_NAME} (at least {MIN_SECRET_CHARS} random characters, e.g. the "
                         "output of `openssl rand -hex 32`).")
    return stored_secret(resolve_data_dir(secrets_mapping, environ))


def stored_secret(data_dir: Path) -> bytes:
    """The secret kept in data_dir (readable by its owner only), generated on first use."""
    path = data_dir / SECRET_FILE
    with contextlib.suppress(FileNotFoundError):
        return _read_secret(path)
    data_dir.mkdir(parents=True, exist_ok=True)
    temp = data_dir / f".{SECRET_FILE}.{secrets.token_hex(4)}.tmp"
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # A hard link never replaces: if another process created the secret first, its secret wins and
        # both mint ids the other accepts.
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    """The secret in a file; an empty or truncated file is an error, not a weak secret."""
    text = path.read_text(encoding="ascii").strip()
    if len(text) < MIN_SECRET_CHARS:
        raise ValueError(f"The workspace link secret in {path.name} is damaged: delete the file to make "
                         "a new one (existing workspace links will stop working).")
    return text.encode("ascii")


def _tag(nonce: str, secret: bytes) -> str:
    """The URL-safe HMAC-SHA256 tag of a nonce under the secret, cut to 128 bits."""
    digest = hmac.new(secret, _PURPOSE + nonce.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode("ascii").rstrip("=")
