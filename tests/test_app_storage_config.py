"""Where the app keeps history: shared mode on real PostgreSQL and SeaweedFS, and its plain refusals."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
import streamlit as st

from lib.config import (
    DATA_DIR_NAME,
    DATABASE_URL_NAME,
    S3_BUCKET_NAME,
    S3_ENDPOINT_NAME,
    WORKSPACE_SECRET_NAME,
)
from lib.object_storage import S3Storage
from lib.shared_store import SCHEMA_VERSION, PostgresHistoryStore, postgres_history
from lib.shared_store.postgres_jobs import SCHEMA_VERSION as JOBS_SCHEMA_VERSION
from tests.app_testing import assert_healthy, errors, finish_jobs, open_app, workspace_of
from tests.postgres_server import PostgresServer
from tests.seaweedfs_server import SeaweedServer

PROMPT = "A lighthouse on a cliff at dawn"
LINK_SECRET = "0123456789abcdef-shared-replicas"


@pytest.mark.parametrize(("given", "missing"), [
    ({DATABASE_URL_NAME: "postgresql://studio:db-password@127.0.0.1:9/studio"},
     [S3_ENDPOINT_NAME, S3_BUCKET_NAME]),
    ({S3_ENDPOINT_NAME: "http://127.0.0.1:9", S3_BUCKET_NAME: "images"}, [DATABASE_URL_NAME]),
])
def test_half_configured_shared_mode_is_refused_plainly(
        tmp_path: Path, given: dict[str, str], missing: list[str]) -> None:
    """One side of shared mode without the other: a plain error naming what is missing, no page, no files."""
    data_dir = tmp_path / "data"
    at = open_app({DATA_DIR_NAME: str(data_dir), **given})
    assert_healthy(at)
    shown = errors(at)
    assert len(shown) == 1 and all(name in shown[0] for name in missing)
    assert "db-password" not in shown[0]
    assert not at.button and not at.text_area  # the page itself was never drawn
    assert not data_dir.exists()


@pytest.fixture
def shared_secrets(secrets: dict[str, str], postgres_url: str, seaweedfs_server: SeaweedServer,
                   s3_bucket: str) -> dict[str, str]:
    """App secrets for shared mode on this test's own database and bucket (and its data folder, unused)."""
    return {**secrets, DATABASE_URL_NAME: postgres_url, S3_ENDPOINT_NAME: seaweedfs_server.endpoint,
            S3_BUCKET_NAME: s3_bucket, WORKSPACE_SECRET_NAME: LINK_SECRET}


def test_shared_mode_saves_to_postgres_and_s3_and_not_to_disk(
        shared_secrets: dict[str, str], data_dir: Path, postgres_url: str,
        seaweedfs_server: SeaweedServer, s3_bucket: str) -> None:
    """A generation in shared mode lands in PostgreSQL and the bucket; the local data folder stays empty."""
    at = open_app(shared_secrets)
    at.text_area(key="generate_prompt").set_value(PROMPT)
    finish_jobs(at.button(key="generate_run").click().run())
    assert_healthy(at)
    assert not errors(at)
    objects = S3Storage(seaweedfs_server.endpoint, s3_bucket)
    with PostgresHistoryStore(postgres_url, objects, sweep_at_start=False) as other_replica:
        [entry] = other_replica.list(workspace_of(at), limit=10)
        assert entry.prompt == PROMPT
        assert other_replica.image_png(entry.workspace_id, entry.id).startswith(b"\x89PNG")
    assert not data_dir.exists()


def test_shared_mode_without_a_link_secret_is_refused(shared_secrets: dict[str, str], data_dir: Path) -> None:
    """Replicas share no folder to keep a link secret in: without a configured one the app says so."""
    at = open_app({name: value for name, value in shared_secrets.items() if name != WORKSPACE_SECRET_NAME})
    assert_healthy(at)
    [shown] = errors(at)
    assert WORKSPACE_SECRET_NAME in shown
    assert not data_dir.exists()


def test_unreachable_database_is_a_plain_error(shared_secrets: dict[str, str], data_dir: Path) -> None:
    """A database nobody answers at: a plain message naming the setting, never the URL or its password."""
    broken = {**shared_secrets, DATABASE_URL_NAME: "postgresql://studio:db-password@127.0.0.1:9/studio"}
    at = open_app(broken)
    assert_healthy(at)
    [shown] = errors(at)
    assert DATABASE_URL_NAME in shown and "db-password" not in shown
    assert not data_dir.exists()


def test_clearing_streamlits_cache_closes_the_shared_stores_connections(
        shared_secrets: dict[str, str], postgres_server: PostgresServer, data_dir: Path) -> None:
    """When Streamlit's cache lets go of the shared stores (a clear, a reload), their pools close: the
    database's connection count goes back to what it was before the app opened them."""
    database_url = postgres_server.create_database()  # its own: no other test's cached pool is counted
    try:
        before = _connections_to(postgres_server, database_url)
        at = open_app({**shared_secrets, DATABASE_URL_NAME: database_url})
        assert_healthy(at)
        assert not errors(at)
        assert _connections_to(postgres_server, database_url) > before
        st.cache_resource.clear()
        deadline = time.monotonic() + 10  # a closed connection's server process ends a moment later
        while _connections_to(postgres_server, database_url) > before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _connections_to(postgres_server, database_url) == before
        assert not data_dir.exists()
    finally:
        postgres_server.drop_database(database_url)


def _connections_to(server: PostgresServer, database_url: str) -> int:
    """How many client connections PostgreSQL holds open to one database."""
    with psycopg.connect(server.admin_url, autocommit=True) as admin:
        row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                            (database_url.rsplit("/", 1)[1],)).fetchone()
    assert row is not None
    return int(row[0])


def test_a_jobs_table_newer_than_this_release_is_refused_plainly(
        shared_secrets: dict[str, str], postgres_server: PostgresServer, data_dir: Path) -> None:
    """A database whose jobs table a newer release upgraded: a plain error saying so, no traceback."""
    database_url = postgres_server.create_database()
    try:
        with psycopg.connect(database_url, autocommit=True) as db:
            db.execute("CREATE TABLE schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
            db.execute("INSERT INTO schema_version VALUES ('jobs', %s)", (JOBS_SCHEMA_VERSION + 1,))
        at = open_app({**shared_secrets, DATABASE_URL_NAME: database_url})
        assert_healthy(at)
        [shown] = errors(at)
        assert f"up to {JOBS_SCHEMA_VERSION}" in shown and "newer release" in shown
        assert not data_dir.exists()
    finally:
        postgres_server.drop_database(database_url)


def test_a_serving_replica_stops_once_a_newer_release_has_migrated(
        shared_secrets: dict[str, str], postgres_server: PostgresServer, data_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The app is serving; another replica of a newer release migrates the history: the next run of a page
    says so plainly instead of reading rows it does not know."""
    monkeypatch.setattr(postgres_history, "SCHEMA_RECHECK_S", 0)  # look on every run, not every 10 s
    database_url = postgres_server.create_database()
    try:
        at = open_app({**shared_secrets, DATABASE_URL_NAME: database_url})
        assert_healthy(at)
        assert not errors(at)
        with psycopg.connect(database_url, autocommit=True) as db:
            db.execute("UPDATE schema_version SET version = %s WHERE component = 'history'",
                       (SCHEMA_VERSION + 1,))
        at.run()
        assert_healthy(at)
        [shown] = errors(at)
        assert f"up to {SCHEMA_VERSION}" in shown and "newer release" in shown
        assert not at.text_area  # the page itself was not drawn
    finally:
        postgres_server.drop_database(database_url)
