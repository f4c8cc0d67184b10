"""`python -m lib.prepare_storage` on a real PostgreSQL and SeaweedFS: tables and bucket before any page."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from lib import budget_postgres
from lib.config import DATA_DIR_NAME, DATABASE_URL_NAME, S3_BUCKET_NAME, S3_ENDPOINT_NAME
from lib.object_storage import S3Storage
from lib.prepare_storage import main, read_secrets
from lib.shared_store import postgres_jobs, schema
from tests.postgres_server import PostgresServer
from tests.seaweedfs_server import SeaweedServer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fresh_database(postgres_server: PostgresServer) -> Iterator[str]:
    """An empty database of this test's own."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


def _shared_environ(database_url: str, seaweedfs: SeaweedServer, bucket: str,
                    data_dir: Path) -> dict[str, str]:
    return {DATABASE_URL_NAME: database_url, S3_ENDPOINT_NAME: seaweedfs.endpoint, S3_BUCKET_NAME: bucket,
            DATA_DIR_NAME: str(data_dir)}


def _versions(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as db:
        return dict(db.execute("SELECT component, version FROM schema_version").fetchall())


def test_prepares_every_table_and_the_bucket_before_any_page(
        fresh_database: str, seaweedfs_server: SeaweedServer, s3_bucket: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """On an empty database and store: history, job and budget tables at this release's versions, a bucket."""
    environ = _shared_environ(fresh_database, seaweedfs_server, s3_bucket, tmp_path / "data")
    assert main(environ, {}) == 0
    assert _versions(fresh_database) == {schema.COMPONENT: schema.SCHEMA_VERSION,
                                         postgres_jobs.COMPONENT: postgres_jobs.SCHEMA_VERSION,
                                         budget_postgres.COMPONENT: budget_postgres.SCHEMA_VERSION}
    objects = S3Storage(seaweedfs_server.endpoint, s3_bucket)
    objects.put("probe", b"x", "text/plain")  # the bucket exists: this would fail on a missing one
    assert objects.get("probe") == b"x"
    assert "ready" in capsys.readouterr().out
    assert not (tmp_path / "data").exists()  # shared mode writes nothing to the local data folder
    assert main(environ, {}) == 0  # a second run (the next deployment) changes nothing and succeeds
    assert _versions(fresh_database)[schema.COMPONENT] == schema.SCHEMA_VERSION


def test_an_unreachable_database_fails_plainly_without_its_password(
        seaweedfs_server: SeaweedServer, s3_bucket: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listens at the address: exit 1 and a sentence naming the setting, never the password."""
    url = "postgresql://studio:hunter2-secret@127.0.0.1:9/image_studio?connect_timeout=1"
    assert main(_shared_environ(url, seaweedfs_server, s3_bucket, tmp_path), {}) == 1
    said = capsys.readouterr().err
    assert "not ready" in said and DATABASE_URL_NAME in said
    assert "hunter2" not in said


def test_waits_for_a_database_that_comes_up_late(
        postgres_server: PostgresServer, seaweedfs_server: SeaweedServer, s3_bucket: str,
        tmp_path: Path) -> None:
    """With --wait, a database that appears a second later is prepared (without it, the same start fails)."""
    url = postgres_server.create_database()
    postgres_server.drop_database(url)  # its name is free: the database is "not up yet"
    environ = _shared_environ(url, seaweedfs_server, s3_bucket, tmp_path)
    assert main(environ, {}) == 1
    outcome: list[int] = []
    waiting = threading.Thread(target=lambda: outcome.append(main(environ, {}, wait_seconds=60)))
    waiting.start()
    time.sleep(1.0)
    with psycopg.connect(postgres_server.admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(url.rsplit("/", 1)[1])))
    try:
        waiting.join(timeout=90)
        assert outcome == [0]
        assert _versions(url)[schema.COMPONENT] == schema.SCHEMA_VERSION
    finally:
        postgres_server.drop_database(url)


def test_half_configured_shared_mode_exits_2_naming_what_is_missing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A database without a bucket is refused before anything is touched."""
    assert main({DATABASE_URL_NAME: "postgresql://nobody@127.0.0.1:9/none", DATA_DIR_NAME: str(tmp_path)},
                {}) == 2
    said = capsys.readouterr().err
    assert S3_ENDPOINT_NAME in said and S3_BUCKET_NAME in said


def test_embedded_mode_has_nothing_to_prepare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Neither shared setting: exit 0, nothing created."""
    assert main({DATA_DIR_NAME: str(tmp_path / "data")}, {}) == 0
    assert "nothing to prepare" in capsys.readouterr().out
    assert not (tmp_path / "data").exists()


def test_secrets_files_merge_in_streamlits_order(tmp_path: Path) -> None:
    """The project's secrets file wins over the user's; a missing file adds nothing."""
    user, project = tmp_path / "user.toml", tmp_path / "project.toml"
    user.write_text(f'{S3_BUCKET_NAME} = "from-user"\n{S3_ENDPOINT_NAME} = "http://user"\n', encoding="utf-8")
    project.write_text(f'{S3_BUCKET_NAME} = "from-project"\n', encoding="utf-8")
    assert read_secrets([user, project, tmp_path / "missing.toml"]) == {
        S3_BUCKET_NAME: "from-project", S3_ENDPOINT_NAME: "http://user"}


def test_runs_as_a_module_from_the_project_folder(tmp_path: Path) -> None:
    """`python -m lib.prepare_storage` is the command compose runs before the replicas."""
    done = subprocess.run([sys.executable, "-m", "lib.prepare_storage"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                                      DATA_DIR_NAME: str(tmp_path / "data")})
    assert done.returncode == 0, done.stderr
    assert "nothing to prepare" in done.stdout
