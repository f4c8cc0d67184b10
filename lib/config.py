"""Where the app connects and keeps its data: secrets first, then the environment, then offline defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib.contract import DEFAULT_ENDPOINT

API_KEY_NAME = "IMAGE_STUDIO_API_KEY"
ENDPOINT_NAME = "IMAGE_STUDIO_ENDPOINT"
DATA_DIR_NAME = "IMAGE_STUDIO_DATA_DIR"
TIMEOUT_NAME = "IMAGE_STUDIO_TIMEOUT"
# Signs workspace links; all replicas of one deployment share it (absent: one is kept in the data folder).
WORKSPACE_SECRET_NAME = "IMAGE_STUDIO_WORKSPACE_SECRET"
DEFAULT_TIMEOUT_SECONDS = 120.0

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
