"""Where the app connects and keeps data: secrets, then environment, then the offline defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from lib.config import (
    DEFAULT_DATA_DIR,
    DEFAULT_TIMEOUT_SECONDS,
    PROJECT_ROOT,
    ObjectStoreSettings,
    StorageConfigurationError,
    resolve_connection,
    resolve_data_dir,
    resolve_storage,
    resolve_timeout,
    shared_mode_requested,
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


SHARED = {
    "IMAGE_STUDIO_DATABASE_URL": "postgresql://studio:db-password@db.internal:5432/studio",
    "IMAGE_STUDIO_S3_ENDPOINT": "http://objects.internal:8333",
    "IMAGE_STUDIO_S3_BUCKET": "image-studio",
}


def test_no_shared_settings_means_embedded_store(tmp_path: Path) -> None:
    """Neither database nor object store configured: today's SQLite + files under the data folder."""
    settings = resolve_storage(NoSecretsFile(), {"IMAGE_STUDIO_DATA_DIR": str(tmp_path)})
    assert (settings.mode, settings.shared, settings.data_dir) == ("embedded", False, tmp_path)
    assert settings.database_url is None and settings.objects is None
    assert not shared_mode_requested(NoSecretsFile(), {})


def test_all_shared_settings_mean_shared_mode_with_aws_names() -> None:
    """Database URL, endpoint and bucket together give shared mode, with the standard AWS_* credentials."""
    environ = {**SHARED, "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3-secret",
               "AWS_REGION": "eu-west-1"}
    settings = resolve_storage(NoSecretsFile(), environ)
    assert settings.shared and settings.data_dir is None
    assert settings.database_url == SHARED["IMAGE_STUDIO_DATABASE_URL"]
    assert settings.objects == ObjectStoreSettings(
        endpoint="http://objects.internal:8333", bucket="image-studio", access_key_id="AKID",
        secret_access_key="s3-secret", region="eu-west-1")
    assert "db-password" not in repr(settings) and "s3-secret" not in repr(settings)


def test_shared_settings_from_secrets_win_and_mix_with_environment() -> None:
    """Each shared setting is read from secrets first, then the environment, like every other setting."""
    secrets = {"IMAGE_STUDIO_S3_BUCKET": "from-secrets", "AWS_SECRET_ACCESS_KEY": "secret-from-secrets"}
    environ = {**SHARED, "AWS_SECRET_ACCESS_KEY": "secret-from-env"}
    settings = resolve_storage(secrets, environ)
    assert settings.objects is not None
    assert (settings.objects.bucket, settings.objects.secret_access_key) == (
        "from-secrets", "secret-from-secrets")
    assert settings.objects.access_key_id is None and settings.objects.region is None


@pytest.mark.parametrize("left_out", [["IMAGE_STUDIO_DATABASE_URL"], ["IMAGE_STUDIO_S3_BUCKET"],
                                      ["IMAGE_STUDIO_S3_ENDPOINT", "IMAGE_STUDIO_S3_BUCKET"]])
def test_half_configured_shared_mode_names_what_is_missing(left_out: list[str]) -> None:
    """One side without the other is refused with a message naming each missing setting, no secret."""
    environ = {name: value for name, value in SHARED.items() if name not in left_out}
    assert shared_mode_requested(NoSecretsFile(), environ)
    with pytest.raises(StorageConfigurationError) as refused:
        resolve_storage(NoSecretsFile(), environ)
    message = str(refused.value)
    for name in left_out:
        assert name in message
    assert ("are missing" if len(left_out) > 1 else "is missing") in message
    assert "db-password" not in message


def test_blank_shared_settings_count_as_absent(tmp_path: Path) -> None:
    """Empty or blank values are no configuration at all: the embedded store stays."""
    environ = {name: "  " for name in SHARED} | {"IMAGE_STUDIO_DATA_DIR": str(tmp_path)}
    assert resolve_storage({}, environ).mode == "embedded"


@pytest.mark.parametrize(("name", "value"), [("IMAGE_STUDIO_DATABASE_URL", "mysql://u:db-password@h/d"),
                                             ("IMAGE_STUDIO_S3_ENDPOINT", "objects.internal:8333")])
def test_shared_settings_of_the_wrong_kind_are_refused(name: str, value: str) -> None:
    """A database URL that is not PostgreSQL, or an endpoint without http(s), is refused by name."""
    with pytest.raises(StorageConfigurationError) as refused:
        resolve_storage({}, {**SHARED, name: value})
    assert name in str(refused.value) and "db-password" not in str(refused.value)
