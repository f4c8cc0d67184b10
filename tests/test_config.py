"""Where the app connects and keeps data: secrets, then environment, then the offline defaults."""

from __future__ import annotations

from pathlib import Path

from lib.config import (
    DEFAULT_DATA_DIR,
    DEFAULT_TIMEOUT_SECONDS,
    PROJECT_ROOT,
    resolve_connection,
    resolve_data_dir,
    resolve_timeout,
)
from lib.contract import DEFAULT_ENDPOINT


class NoSecretsFile(dict):
    """Behaves like st.secrets when there is no secrets.toml: every read raises FileNotFoundError."""

    def get(self, key, default=None):
        raise FileNotFoundError("No secrets found")


def test_no_key_anywhere_means_offline() -> None:
    """Without a key in secrets or environment the connection is offline."""
    settings = resolve_connection(NoSecretsFile(), {})
    assert settings.offline and settings.api_key is None and settings.source == "offline"
    assert settings.endpoint == DEFAULT_ENDPOINT


def test_secrets_come_before_the_environment() -> None:
    """A key in secrets wins over one in the environment, and brings its own endpoint."""
    settings = resolve_connection(
        {"IMAGE_STUDIO_API_KEY": "sk_from_secrets", "IMAGE_STUDIO_ENDPOINT": "http://secrets.test/api"},
        {"IMAGE_STUDIO_API_KEY": "sk_from_env", "IMAGE_STUDIO_ENDPOINT": "http://env.test/api"},
    )
    assert (settings.api_key, settings.endpoint, settings.source) == (
        "sk_from_secrets", "http://secrets.test/api", "secrets")


def test_environment_key_when_no_secrets_file() -> None:
    """With no secrets file the environment's key and endpoint are used."""
    settings = resolve_connection(NoSecretsFile(), {"IMAGE_STUDIO_API_KEY": " sk_env ",
                                                    "IMAGE_STUDIO_ENDPOINT": "http://env.test/api"})
    assert (settings.api_key, settings.endpoint, settings.source) == ("sk_env", "http://env.test/api",
                                                                      "environment")


def test_blank_key_counts_as_none_and_key_never_in_repr() -> None:
    """A blank key is no key; the key never shows in the settings' repr."""
    assert resolve_connection({"IMAGE_STUDIO_API_KEY": "   "}, {}).offline
    settings = resolve_connection({"IMAGE_STUDIO_API_KEY": "sk_secret_value"}, {})
    assert "sk_secret_value" not in repr(settings)


def test_data_dir_default_relative_and_absolute(tmp_path: Path) -> None:
    """Data folder: "data" beside app.py by default; relative paths are taken from the project root."""
    assert resolve_data_dir(NoSecretsFile(), {}) == DEFAULT_DATA_DIR == PROJECT_ROOT / "data"
    assert resolve_data_dir({}, {"IMAGE_STUDIO_DATA_DIR": "history"}) == PROJECT_ROOT / "history"
    assert resolve_data_dir({"IMAGE_STUDIO_DATA_DIR": str(tmp_path)}, {}) == tmp_path


def test_timeout_reads_numbers_and_ignores_nonsense() -> None:
    """The timeout accepts numbers as text or numbers and falls back for anything unusable."""
    assert resolve_timeout({"IMAGE_STUDIO_TIMEOUT": 5}, {}) == 5.0
    assert resolve_timeout({}, {"IMAGE_STUDIO_TIMEOUT": "2.5"}) == 2.5
    assert resolve_timeout({}, {"IMAGE_STUDIO_TIMEOUT": "soon"}) == DEFAULT_TIMEOUT_SECONDS
    assert resolve_timeout({}, {"IMAGE_STUDIO_TIMEOUT": "-1"}) == DEFAULT_TIMEOUT_SECONDS
