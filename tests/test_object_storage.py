"""One contract for both object stores: a local folder, and S3 served by a real SeaweedFS."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

import lib.object_storage as object_storage
from lib.object_storage import (
    InvalidObjectKeyError,
    LocalFolderStorage,
    ObjectStorage,
    ObjectStorageError,
    ObjectTooLargeError,
    S3Storage,
)
from tests.seaweedfs_server import SeaweedServer

StorageFactory = Callable[..., ObjectStorage]
PNG = "image/png"
MB = 1024 * 1024

BAD_KEYS = ["", "/etc/passwd", "../outside.png", "ws/../../outside.png", "ws//a.png", "ws/./a.png",
            ".hidden", "ws/.a.png.1234.tmp", "ws\\a.png", "C:/a.png", "ws/a\x00.png", "ws/a\n.png",
            "x" * 1025]


@pytest.fixture(params=["folder", "s3"])
def make_storage(request: pytest.FixtureRequest, tmp_path: Path) -> StorageFactory:
    """A factory of stores over one place of this test's own (a folder, or a fresh bucket)."""
    if request.param == "folder":
        return lambda **options: LocalFolderStorage(tmp_path / "objects", **options)
    server: SeaweedServer = request.getfixturevalue("seaweedfs_server")
    bucket: str = request.getfixturevalue("s3_bucket")
    return lambda **options: S3Storage(server.endpoint, bucket, **options)


@pytest.fixture
def storage(make_storage: StorageFactory) -> ObjectStorage:
    """A store with the default size cap."""
    return make_storage()


def test_put_then_get_returns_the_same_bytes(storage: ObjectStorage) -> None:
    """What was put under a key comes back byte for byte, binary included."""
    data = bytes(range(256)) * 10
    storage.put("ws1/entry/image.png", data, PNG)
    assert storage.get("ws1/entry/image.png") == data


def test_put_overwrites_what_was_there(storage: ObjectStorage) -> None:
    """A second put under the same key replaces the first object."""
    storage.put("ws1/a.png", b"first", PNG)
    storage.put("ws1/a.png", b"second, longer", PNG)
    assert storage.get("ws1/a.png") == b"second, longer"
    assert list(storage.keys("ws1/")) == ["ws1/a.png"]


def test_missing_key_gets_none(storage: ObjectStorage) -> None:
    """A key never written, or under a missing folder, reads as None rather than an error."""
    assert storage.get("nothing/here.png") is None
    storage.put("ws1/a.png", b"x", PNG)
    assert storage.get("ws1/b.png") is None
    assert storage.get("ws1/a.png/deeper") is None


def test_delete_removes_and_tolerates_missing(storage: ObjectStorage) -> None:
    """delete removes one object, leaves its neighbours, and is quiet when the key is already gone."""
    storage.put("ws1/a.png", b"a", PNG)
    storage.put("ws1/b.png", b"b", PNG)
    storage.delete("ws1/a.png")
    storage.delete("ws1/a.png")
    storage.delete("never/was.png")
    assert storage.get("ws1/a.png") is None
    assert list(storage.keys("")) == ["ws1/b.png"]


def test_delete_prefix_removes_only_matching_and_counts(storage: ObjectStorage) -> None:
    """delete_prefix removes every key under the prefix, nothing else, and says how many."""
    for key in ("ws1/a.png", "ws1/deep/b.png", "ws1/deep/er/c.png", "ws10/d.png", "ws2/e.png"):
        storage.put(key, key.encode(), PNG)
    assert storage.delete_prefix("ws1/") == 3
    assert list(storage.keys("")) == ["ws10/d.png", "ws2/e.png"]
    assert storage.delete_prefix("ws1/") == 0


def test_delete_prefix_in_batches(storage: ObjectStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    """More keys than one delete request takes are all removed (S3 deletes at most 1,000 per request)."""
    monkeypatch.setattr(object_storage, "_S3_DELETE_BATCH", 2)
    for index in range(5):
        storage.put(f"ws1/{index}.png", b"x", PNG)
    assert storage.delete_prefix("ws1") == 5
    assert list(storage.keys("")) == []


def test_delete_prefix_refuses_everything_at_once(storage: ObjectStorage) -> None:
    """An empty prefix would wipe the store: it is refused and nothing goes."""
    storage.put("ws1/a.png", b"a", PNG)
    with pytest.raises(InvalidObjectKeyError):
        storage.delete_prefix("")
    assert storage.get("ws1/a.png") == b"a"


def test_keys_are_sorted_and_filtered_by_text_prefix(storage: ObjectStorage) -> None:
    """keys lists in sorted order, and a prefix matches as text (as in S3), not only whole folders."""
    for key in ("b/2.png", "a/1.png", "ab.png", "a/sub/3.png", "c.png"):
        storage.put(key, b"x", PNG)
    assert list(storage.keys("")) == ["a/1.png", "a/sub/3.png", "ab.png", "b/2.png", "c.png"]
    assert list(storage.keys("a/")) == ["a/1.png", "a/sub/3.png"]
    assert list(storage.keys("a")) == ["a/1.png", "a/sub/3.png", "ab.png"]
    assert list(storage.keys("a/s")) == ["a/sub/3.png"]
    assert list(storage.keys("zzz/")) == []


def test_bad_keys_are_refused(storage: ObjectStorage) -> None:
    """Keys that could leave the folder, or that disk and S3 read apart, are refused; none is written."""
    for key in BAD_KEYS:
        with pytest.raises(InvalidObjectKeyError):
            storage.put(key, b"x", PNG)
        with pytest.raises(InvalidObjectKeyError):
            storage.get(key)
        with pytest.raises(InvalidObjectKeyError):
            storage.delete(key)
    assert list(storage.keys("")) == []


def test_bad_prefixes_are_refused(storage: ObjectStorage) -> None:
    """A prefix that is not the start of a safe key is refused by keys and delete_prefix."""
    for prefix in ("/", "../", "ws/../", "ws//", ".hidden/"):
        with pytest.raises(InvalidObjectKeyError):
            list(storage.keys(prefix))
        with pytest.raises(InvalidObjectKeyError):
            storage.delete_prefix(prefix)


def test_objects_over_the_cap_are_refused(make_storage: StorageFactory) -> None:
    """An object over the size cap is neither read into memory nor written; one at the cap is fine."""
    roomy = make_storage(max_object_bytes=4 * MB)
    capped = make_storage(max_object_bytes=1 * MB)
    roomy.put("ws1/big.png", b"\x01" * (2 * MB), PNG)
    roomy.put("ws1/exact.png", b"\x02" * MB, PNG)
    with pytest.raises(ObjectTooLargeError) as refused:
        capped.get("ws1/big.png")
    assert "larger than 1 MB" in str(refused.value)
    assert capped.get("ws1/exact.png") == b"\x02" * MB
    with pytest.raises(ObjectTooLargeError):
        capped.put("ws1/other.png", b"\x03" * (MB + 1), PNG)
    assert capped.get("ws1/other.png") is None


def test_errors_are_oserrors() -> None:
    """Callers that already handle disk failures (OSError) handle the object store's too."""
    assert issubclass(ObjectStorageError, OSError)
    assert issubclass(ObjectTooLargeError, ObjectStorageError)
    assert issubclass(InvalidObjectKeyError, ObjectStorageError)


def test_folder_writes_leave_no_temp_files_and_listing_skips_them(tmp_path: Path) -> None:
    """Writes go through a temp file renamed into place; a crashed write's temp file is never a key."""
    storage = LocalFolderStorage(tmp_path)
    storage.put("ws1/a.png", b"a", PNG)
    storage.put("ws1/a.png", b"b", PNG)
    assert sorted(path.name for path in (tmp_path / "ws1").iterdir()) == ["a.png"]
    (tmp_path / "ws1" / ".a.png.dead.tmp").write_bytes(b"half")
    assert list(storage.keys("")) == ["ws1/a.png"]
    assert storage.delete_prefix("ws1/") == 1


def test_folder_delete_prunes_empty_folders(tmp_path: Path) -> None:
    """Deleting the last object of a folder removes the folder too, but never the root."""
    storage = LocalFolderStorage(tmp_path / "root")
    storage.put("ws1/entry/a.png", b"a", PNG)
    storage.delete("ws1/entry/a.png")
    assert not (tmp_path / "root" / "ws1").exists()
    assert (tmp_path / "root").is_dir()


def test_s3_keeps_the_content_type(seaweedfs_server: SeaweedServer, s3_bucket: str) -> None:
    """The content type given to put is what the bucket serves the object with."""
    bucket = s3_bucket
    S3Storage(seaweedfs_server.endpoint, bucket).put("ws1/a.webp", b"RIFF", "image/webp")
    client = boto3.client("s3", endpoint_url=seaweedfs_server.endpoint)
    assert client.head_object(Bucket=bucket, Key="ws1/a.webp")["ContentType"] == "image/webp"


def test_s3_opens_an_existing_bucket(seaweedfs_server: SeaweedServer, s3_bucket: str) -> None:
    """A second store (another replica) on a bucket the first created sees the same objects."""
    bucket = s3_bucket
    S3Storage(seaweedfs_server.endpoint, bucket).put("ws1/a.png", b"a", PNG)
    assert S3Storage(seaweedfs_server.endpoint, bucket).get("ws1/a.png") == b"a"


def test_s3_unreachable_is_one_plain_oserror(monkeypatch: pytest.MonkeyPatch) -> None:
    """A store nobody answers at gives an ObjectStorageError naming where, never the secret key."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ObjectStorageError) as failed:
        S3Storage(f"http://user:pw@127.0.0.1:{port}", "images", connect_timeout=1, max_attempts=1)
    message = str(failed.value)
    assert f"127.0.0.1:{port}" in message and "images" in message
    assert "very-secret-value" not in message and "pw" not in message
