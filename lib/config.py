"""Where the app connects and keeps its data: secrets first, then the environment, then offline defaults."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lib.contract import DEFAULT_ENDPOINT

API_KEY_NAME = "IMAGE_STUDIO_API_KEY"
ENDPOINT_NAME = "IMAGE_STUDIO_ENDPOINT"
DATA_DIR_NAME = "IMAGE_STUDIO_DATA_DIR"
TIMEOUT_NAME = "IMAGE_STUDIO_TIMEOUT"
# Signs workspace links; all replicas of one deployment share it (absent: one is kept in the data folder).
WORKSPACE_SECRET_NAME = "IMAGE_STUDIO_WORKSPACE_SECRET"
DEFAULT_TIMEOUT_SECONDS = 120.0
# Shared mode (several replicas): rows in PostgreSQL, images in an S3-compatible bucket. All three or none.
DATABASE_URL_NAME = "IMAGE_STUDIO_DATABASE_URL"
S3_ENDPOINT_NAME = "IMAGE_STUDIO_S3_ENDPOINT"
S3_BUCKET_NAME = "IMAGE_STUDIO_S3_BUCKET"
SHARED_MODE_NAMES = (DATABASE_URL_NAME, S3_ENDPOINT_NAME, S3_BUCKET_NAME)
# The standard names every S3 client reads; absent, boto3 looks in its usual places (e.g. ~/.aws).
AWS_ACCESS_KEY_ID_NAME = "AWS_ACCESS_KEY_ID"
AWS_SECRET_ACCESS_KEY_NAME = "AWS_SECRET_ACCESS_KEY"
AWS_REGION_NAME = "AWS_REGION"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"


@dataclass(frozen=True)
class ConnectionSettings:
    """The API key and endpoint configured for everyone; no key means the offline Local Studio."""

    api_key: str | None = field(default=None, repr=False)
    endpoint: str = DEFAULT_ENDPOINT
    source: str = "offline"  # "secrets", "environment" or "offline": shown to people, never the key

    @property
    def offline(self) -> bool:
        """True when no key is configured, so the app runs its own Local Studio."""
        return not self.api_key


def secret_value(secrets: Mapping[str, Any] | None, name: str) -> Any:
    """A value from a secrets mapping as it is; None when absent or when there is no secrets file."""
    if secrets is None:
        return None
    try:
        return secrets.get(name)
    except FileNotFoundError:  # st.secrets without any secrets.toml raises on every read
        return None


def lookup(secrets: Mapping[str, Any] | None, name: str) -> str | None:
    """A non-empty text setting from a secrets mapping; None when absent or when there is no secrets file."""
    value = secret_value(secrets, name)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def resolve_connection(secrets: Mapping[str, Any] | None, environ: Mapping[str, str]) -> ConnectionSettings:
    """The configured connection: a key from secrets, else from the environment, else offline."""
    for source, mapping in (("secrets", secrets), ("environment", environ)):
        api_key = lookup(mapping, API_KEY_NAME)
        if api_key:
            endpoint = lookup(mapping, ENDPOINT_NAME) or configured_endpoint(secrets, environ)
            return ConnectionSettings(api_key=api_key, endpoint=endpoint or DEFAULT_ENDPOINT, source=source)
    return ConnectionSettings(endpoint=configured_endpoint(secrets, environ) or DEFAULT_ENDPOINT)


def configured_endpoint(secrets: Mapping[str, Any] | None, environ: Mapping[str, str]) -> str | None:
    """The endpoint named in secrets or the environment, if any."""
    return lookup(secrets, ENDPOINT_NAME) or lookup(environ, ENDPOINT_NAME)


def resolve_data_dir(secrets: Mapping[str, Any] | None, environ: Mapping[str, str]) -> Path:
    """The history store's folder: from secrets, else the environment, else "data" beside app.py."""
    configured = lookup(secrets, DATA_DIR_NAME) or lookup(environ, DATA_DIR_NAME)
    if not configured:
        return DEFAULT_DATA_DIR
    path = Path(configured).expanduser()
    # A relative path means relative to the project, not to wherever streamlit was started from.
    return path if path.is_absolute() else PROJECT_ROOT / path


def resolve_timeout(secrets: Mapping[str, Any] | None, environ: Mapping[str, str]) -> float:
    """Seconds to wait for the API before reporting a timeout (secrets, else environment, else 120)."""
    configured = lookup(secrets, TIMEOUT_NAME) or lookup(environ, TIMEOUT_NAME)
    try:
        seconds = float(configured) if configured else DEFAULT_TIMEOUT_SECONDS
    except ValueError:
        return DEFAULT_TIMEOUT_SECONDS
    return seconds if seconds > 0 else DEFAULT_TIMEOUT_SECONDS


def resolve_workspace_secret(secrets: Mapping[str, Any] | None, environ: Mapping[str, str]) -> str | None:
    """The configured workspace-link secret (secrets, else environment), or None when none is set."""
    return lookup(secrets, WORKSPACE_SECRET_NAME) or lookup(environ, WORKSPACE_SECRET_NAME)


class StorageConfigurationError(ValueError):
    """The history storage settings do not add up; the message names what to fix (never a secret)."""


@dataclass(frozen=True)
class ObjectStoreSettings:
    """Where shared mode keeps images: an S3-compatible endpoint and bucket, and optional credentials."""

    endpoint: str
    bucket: str
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    region: str | None = None


@dataclass(frozen=True)
class StorageSettings:
    """Where history lives: "embedded" (SQLite + files in data_dir) or "shared" (PostgreSQL + S3)."""

    mode: str
    data_dir: Path | None = None
    database_url: str | None = field(default=None, repr=False)  # may carry a password
    objects: ObjectStoreSettings | None = None

    @property
    def shared(self) -> bool:
        """True when history is in PostgreSQL and object storage, shared by every replica."""
        return self.mode == "shared"


def shared_mode_requested(secrets: Mapping[str, Any] | None, environ: Mapping[str, str]) -> bool:
    """True when any shared-mode setting is given: then nothing may be written to the local data folder."""
    return any(_setting(secrets, environ, name) for name in SHARED_MODE_NAMES)


def resolve_storage(secrets: Mapping[str, Any] | None, environ: Mapping[str, str]) -> StorageSettings:
    """The history storage: shared when all its settings are given, embedded when none; else an error."""
    given = {name: _setting(secrets, environ, name) for name in SHARED_MODE_NAMES}
    if not any(given.values()):
        return StorageSettings(mode="embedded", data_dir=resolve_data_dir(secrets, environ))
    missing = [name for name, value in given.items() if not value]
    if missing:
        raise StorageConfigurationError(
            f"History is half configured for several machines: {_names(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing. Set {_names(SHARED_MODE_NAMES)} together, "
            f"or none of them to keep history in the local data folder ({DATA_DIR_NAME})."
        )
    database_url, endpoint, bucket = (str(given[name]) for name in SHARED_MODE_NAMES)
    # The values themselves are never repeated in a message: a database URL may carry a password.
    if urlsplit(database_url).scheme not in ("postgresql", "postgres"):
        raise StorageConfigurationError(f"{DATABASE_URL_NAME} must be a postgresql:// URL.")
    if urlsplit(endpoint).scheme not in ("http", "https") or not urlsplit(endpoint).hostname:
        raise StorageConfigurationError(f"{S3_ENDPOINT_NAME} must be an http:// or https:// address.")
    objects = ObjectStoreSettings(
        endpoint=endpoint,
        bucket=bucket,
        access_key_id=_setting(secrets, environ, AWS_ACCESS_KEY_ID_NAME),
        secret_access_key=_setting(secrets, environ, AWS_SECRET_ACCESS_KEY_NAME),
        region=_setting(secrets, environ, AWS_REGION_NAME),
    )
    return StorageSettings(mode="shared", database_url=database_url, objects=objects)


def _setting(secrets: Mapping[str, Any] | None, environ: Mapping[str, str], name: str) -> str | None:
    """A text setting from secrets, else from the environment."""
    return lookup(secrets, name) or lookup(environ, name)


def _names(names: Sequence[str]) -> str:
    """Setting names as a readable list: "A", "A and B", "A, B and C"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
