"""The shared history store's own concerns: its schema across replicas, replicas racing, real S3 objects.

Its everyday behaviour (the same as the embedded store's) is checked by tests/test_store.py, which runs on
both stores.
"""

from __future__ import annotations

import io
import socket
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from PIL import Image

from lib.history_entry import new_workspace_id
from lib.history_store_base import HistorySaveError
from lib.object_storage import LocalFolderStorage, ObjectStorageError, S3Storage
from lib.png_metadata import read_settings
from lib.shared_store import SCHEMA_VERSION, HistoryDatabaseError, PostgresHistoryStore, SchemaTooNewError
from lib.shared_store.schema import MIGRATION_LOCK_KEY
from tests.postgres_server import PostgresServer
from tests.seaweedfs_server import SeaweedServer


def _png(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small solid PNG."""
    out = io.BytesIO()
    Image.new("RGB", (48, 48), colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def empty_database(postgres_server: PostgresServer) -> Iterator[str]:
    """A database with nothing in it yet, of this test's own."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture
def open_replica(postgres_url: str, tmp_path: Path) -> Iterator[Callable[[], PostgresHistoryStore]]:
    """Opens stores as separate replicas would: own connections, one database, one object folder."""
    opened: list[PostgresHistoryStore] = []

    def open_one() -> PostgresHistoryStore:
        opened.append(PostgresHistoryStore(postgres_url, LocalFolderStorage(tmp_path / "objects")))
        return opened[-1]

    yield open_one
    for store in opened:
        store.close()


def _tables(url: str) -> list[str]:
    """The tables of the database's public schema."""
    with psycopg.connect(url) as db:
        return sorted(row[0] for row in db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))


def test_replicas_starting_at_once_create_one_schema(empty_database: str, tmp_path: Path) -> None:
    """Four replicas opening an empty database at the same moment all start, and the schema is made once."""
    stores: list[PostgresHistoryStore] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_replica(index: int) -> None:
        start.wait()
        try:
            stores.append(PostgresHistoryStore(empty_database, LocalFolderStorage(tmp_path / f"o{index}")))
        except BaseException as exc:  # re-raised by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=open_replica, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert len(stores) == 4
        with psycopg.connect(empty_database) as db:
            assert db.execute("SELECT component, version FROM schema_version").fetchall() == [
                ("history", SCHEMA_VERSION)]
        assert {"history_entries", "history_inputs", "schema_version"} <= set(_tables(empty_database))
        workspace = new_workspace_id()
        saved = stores[0].add(workspace, "enhancement", prompt="made on one", text="seen on all")
        assert all(store.get(workspace, saved.id) == saved for store in stores)
    finally:
        for store in stores:
            store.close()


def test_a_schema_newer_than_this_release_is_refused(empty_database: str, tmp_path: Path) -> None:
    """A database a newer release upgraded makes this one refuse to start, saying why, changing nothing."""
    PostgresHistoryStore(empty_database, LocalFolderStorage(tmp_path / "objects")).close()
    with psycopg.connect(empty_database) as db:
        db.execute("UPDATE schema_version SET version = %s WHERE component = 'history'",
                   (SCHEMA_VERSION + 1,))
    with pytest.raises(SchemaTooNewError) as refused:
        PostgresHistoryStore(empty_database, LocalFolderStorage(tmp_path / "objects"))
    message = str(refused.value)
    assert f"schema version {SCHEMA_VERSION + 1}" in message
    assert f"up to {SCHEMA_VERSION}" in message and "newer release" in message
    with psycopg.connect(empty_database) as db:
        assert db.execute("SELECT version FROM schema_version").fetchone() == (SCHEMA_VERSION + 1,)
        # The refusing replica let go of the migration lock: the next one to start is not kept waiting.
        assert db.execute("SELECT pg_try_advisory_lock(%s)", (MIGRATION_LOCK_KEY,)).fetchone() == (True,)


def test_a_running_replica_refuses_once_a_newer_release_has_migrated(empty_database: str,
                                                                      tmp_path: Path) -> None:
    """A replica already serving when a newer release migrates the schema stops serving, saying why."""
    with PostgresHistoryStore(empty_database, LocalFolderStorage(tmp_path / "objects")) as serving:
        serving.refuse_newer_schema(recheck_after_s=0)  # its own version: nothing to say
        with psycopg.connect(empty_database) as db:
            db.execute("UPDATE schema_version SET version = %s WHERE component = 'history'",
                       (SCHEMA_VERSION + 1,))
        with pytest.raises(SchemaTooNewError, match=f"up to {SCHEMA_VERSION}"):
            serving.refuse_newer_schema(recheck_after_s=0)


def test_reopening_a_current_database_changes_nothing(empty_database: str, tmp_path: Path) -> None:
    """A replica restarting on a migrated database keeps every row and the version."""
    workspace = new_workspace_id()
    with PostgresHistoryStore(empty_database, LocalFolderStorage(tmp_path / "objects")) as first:
        saved = first.add(workspace, "generation", prompt="kept", image_png=_png())
    with PostgresHistoryStore(empty_database, LocalFolderStorage(tmp_path / "objects")) as again:
        assert again.list(workspace) == [saved]
    with psycopg.connect(empty_database) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    """A database that does not answer stops the start with a plain message naming it, never the password."""
    port = _closed_port()
    url = f"postgresql://studio:s3cret-pass@127.0.0.1:{port}/history"
    with pytest.raises(HistoryDatabaseError) as failed:
        PostgresHistoryStore(url, LocalFolderStorage(tmp_path / "objects"), connect_timeout=2)
    assert f"127.0.0.1:{port}/history" in failed.value.message
    assert "IMAGE_STUDIO_DATABASE_URL" in failed.value.message
    assert "s3cret-pass" not in str(failed.value) and "studio:" not in str(failed.value)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_replicas_adding_and_deleting_at_once_keep_every_input_image(
        open_replica: Callable[[], PostgresHistoryStore]) -> None:
    """Two replicas saving and deleting edits of one shared input image never leave an entry without it."""
    replicas = [open_replica(), open_replica()]
    workspace = new_workspace_id()
    shared = _png((1, 2, 3))
    errors: list[BaseException] = []
    missing: list[str] = []
    start = threading.Barrier(4)

    def churn(store: PostgresHistoryStore, thread: int) -> None:
        start.wait()
        try:
            for i in range(12):
                entry = store.add(workspace, "edit", prompt=f"{thread}-{i}", image_png=_png((thread, i, 9)),
                                  input_images=[shared])
                if store.input_images(workspace, entry.id) != [shared]:
                    missing.append(entry.id)
                if i < 11:  # the last one of each thread stays
                    assert store.delete(workspace, entry.id)
        except BaseException as exc:  # re-raised by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(replicas[n % 2], n)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and missing == []
    kept = replicas[1].list(workspace)
    assert sorted(entry.prompt for entry in kept) == ["0-11", "1-11", "2-11", "3-11"]
    assert all(replicas[0].input_images(workspace, entry.id) == [shared] for entry in kept)
    assert replicas[0].sweep_leftovers(min_age_seconds=0) == 0  # nothing unlisted was left behind


def test_concurrent_adds_on_two_replicas_all_land(open_replica: Callable[[], PostgresHistoryStore]) -> None:
    """Six threads over two replicas adding to three workspaces lose nothing and mix nothing up."""
    replicas = [open_replica(), open_replica()]
    workspaces = [new_workspace_id() for _ in range(3)]
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def write(thread: int) -> None:
        start.wait()
        try:
            for i in range(15):
                replicas[thread % 2].add(workspaces[thread % 3], "generation", prompt=f"{thread}-{i}",
                                         image_png=_png((thread, i, 0)))
        except BaseException as exc:  # re-raised by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [replicas[0].count(ws) for ws in workspaces] == [30, 30, 30]
    prompts = {entry.prompt for ws in workspaces for entry in replicas[1].list(ws, limit=100)}
    assert prompts == {f"{t}-{i}" for t in range(6) for i in range(15)}
    for ws in workspaces:
        entry = replicas[1].list(ws, limit=1)[0]
        assert read_settings(replicas[0].image_png(ws, entry.id))["prompt"] == entry.prompt


class _RefusingStorage(LocalFolderStorage):
    """An object store that takes nothing: every write fails as an unreachable store would."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Refuse the write."""
        raise ObjectStorageError("Could not store an object in the object store at 127.0.0.1:9 (bucket 'x').")


def test_a_failed_object_write_keeps_the_result_for_the_session(postgres_url: str, tmp_path: Path) -> None:
    """When the image can't be stored the save fails in plain words, carrying the image; no row is left."""
    workspace = new_workspace_id()
    with PostgresHistoryStore(postgres_url, _RefusingStorage(tmp_path / "objects")) as store:
        with pytest.raises(HistorySaveError) as failed:
            store.add(workspace, "generation", prompt="a red square", image_png=_png())
        assert "could not be saved to history" in failed.value.message
        assert "object store" in failed.value.message and "download it now" in failed.value.message
        assert failed.value.image_png is not None
        assert read_settings(failed.value.image_png)["prompt"] == "a red square"
        assert store.count(workspace) == 0


def test_the_shared_store_works_on_real_s3(postgres_url: str, seaweedfs_server: SeaweedServer,
                                           s3_bucket: str) -> None:
    """On real S3 (SeaweedFS): save with inputs, read back, export, move, and delete leaving no object."""
    objects = S3Storage(seaweedfs_server.endpoint, s3_bucket)
    workspace, moved_to = new_workspace_id(), new_workspace_id()
    photo = _png((9, 90, 200))
    with PostgresHistoryStore(postgres_url, objects) as store:
        edit = store.add(workspace, "edit", prompt="on the beach", image_png=_png(), input_images=[photo])
        cut = store.add(workspace, "cutout", prompt="remove background", image_png=_png((0, 0, 0)),
                        input_images=[photo], source_name="beach.png")
        keys = list(objects.keys(f"images/{workspace}/"))
        assert len(keys) == 3  # two images and the photo, kept once
        assert {f"images/{workspace}/{edit.id}.png", f"images/{workspace}/{cut.id}.png"} < set(keys)
        assert store.input_images(workspace, cut.id) == [photo]
        assert read_settings(store.image_png(workspace, edit.id))["prompt"] == "on the beach"
        names = zipfile.ZipFile(io.BytesIO(store.export_zip(workspace))).namelist()
        assert [name for name in names if not name.startswith("inputs/")] == [
            "001-cutout-beach.png", "002-edit-on-the-beach.png", "history.json"]

        assert store.adopt_workspace(workspace, moved_to) == 2
        assert list(objects.keys(f"images/{workspace}/")) == []
        assert store.input_images(moved_to, edit.id) == [photo]
        assert store.delete(moved_to, edit.id) and store.delete(moved_to, cut.id)
        assert list(objects.keys("images/")) == []
