"""Where images live as objects: a folder on this disk, or an S3-compatible bucket shared by replicas.

Keys are relative, slash-separated names such as `ws/entry/image.png`. Both implementations refuse the
same bad keys (empty, absolute, `..`, hidden segments, backslashes, control characters), so a key that
works on a laptop works against S3 and no key can climb out of the folder. Every failure is an
`ObjectStorageError`, an `OSError` with a message fit to show a person, so callers that already handle
disk failures handle the object store too.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import urlsplit

# No image the app keeps comes near this; the cap stops a hostile or broken store from exhausting memory.
MAX_OBJECT_BYTES = 60 * 1024 * 1024
MAX_KEY_BYTES = 1024  # S3's own limit on a key's length
_S3_DELETE_BATCH = 1000  # S3's limit on keys per DeleteObjects request



def write_atomically(path: Path, data: bytes) -> None:
    """Write a file so that readers see either nothing or all of it (hidden temp file, fsync, rename)."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


class ObjectStorageError(OSError):
    """The object store failed or refused; the message is fit to show a person (never a secret)."""


class ObjectTooLargeError(ObjectStorageError):
    """An object over the size cap: refused rather than read into memory."""


class InvalidObjectKeyError(ObjectStorageError, ValueError):
    """A key that could escape its folder or that S3 and a disk would read differently."""


class ObjectStorage(Protocol):
    """Bytes under keys: what the history store needs from a folder or a bucket."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store data under key, replacing what was there, all at once or not at all."""
        ...

    def get(self, key: str) -> bytes | None:
        """The bytes under key, or None when there is no such object."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object under key; nothing happens when it is already gone."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with prefix; returns how many went."""
        ...

    def keys(self, prefix: str) -> Iterator[str]:
        """The keys that start with prefix, in sorted order."""
        ...


def check_key(key: object) -> str:
    """The key itself when it is safe to use on a disk and in S3 alike; InvalidObjectKeyError otherwise."""
    if not isinstance(key, str) or not key:
        raise InvalidObjectKeyError("An object key must be a non-empty text.")
    _check_text(key)
    segments = key.split("/")
    if any(not segment or segment.startswith(".") for segment in segments):
        raise InvalidObjectKeyError(f"The object key {key!r} has an empty, '.'-led or '..' part.")
    return key


def check_prefix(prefix: object) -> str:
    """The prefix itself when it is a safe key, or the start of one (it may end with '/' or be empty)."""
    if not isinstance(prefix, str):
        raise InvalidObjectKeyError("An object key prefix must be a text.")
    if not prefix:
        return prefix
    _check_text(prefix)
    segments = prefix.split("/")
    if segments[-1] == "":  # "ws/" names a folder: its last segment is legitimately empty
        segments = segments[:-1]
    if any(not segment or segment.startswith(".") for segment in segments):
        raise InvalidObjectKeyError(f"The object key prefix {prefix!r} has an empty, '.'-led or '..' part.")
    return prefix


def _check_text(text: str) -> None:
    """Refuse what no segment rule catches: absolute paths, backslashes, control characters, long keys."""
    if text.startswith("/") or "\\" in text or ":" in text.split("/")[0]:
        raise InvalidObjectKeyError(f"The object key {text!r} must be a relative path with '/' only.")
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise InvalidObjectKeyError("An object key must not contain control characters.")
    if len(text.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidObjectKeyError(f"An object key may be at most {MAX_KEY_BYTES} bytes long.")


def _too_large(key: str, limit: int) -> ObjectTooLargeError:
    """The one message for an object over the cap."""
    return ObjectTooLargeError(f"The stored object {key!r} is larger than {limit // (1024 * 1024)} MB "
                               "and was not read.")


class LocalFolderStorage:
    """Objects as files under one folder; each write lands whole (temp file, then an atomic rename)."""

    def __init__(self, root: str | os.PathLike[str], *, max_object_bytes: int = MAX_OBJECT_BYTES) -> None:
        self.root = Path(root)
        self.max_object_bytes = max_object_bytes

    def __repr__(self) -> str:
        return f"LocalFolderStorage({str(self.root)!r})"

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write data under key (content_type is not kept: a file's name says what it is)."""
        path = self._path(key)
        if len(data) > self.max_object_bytes:
            raise _too_large(key, self.max_object_bytes)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Hidden temp names can never be keys (check_key refuses '.'-led segments), so listing skips them.
        write_atomically(path, data)

    def get(self, key: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        path = self._path(key)
        try:
            with open(path, "rb") as handle:
                return _read_capped(handle, key, self.max_object_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def delete(self, key: str) -> None:
        """Remove the file, and folders the removal leaves empty."""
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            path.unlink()
        self._prune_empty_folders(path.parent)

    def delete_prefix(self, prefix: str) -> int:
        """Remove every file whose key starts with prefix (an empty prefix is refused: too broad)."""
        if not check_prefix(prefix):
            raise InvalidObjectKeyError("Refusing to delete every object at once: give a prefix.")
        removed = 0
        for key in list(self.keys(prefix)):
            path = self.root / key
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
            self._prune_empty_folders(path.parent)
        return removed

    def keys(self, prefix: str) -> Iterator[str]:
        """The keys under root that start with prefix, sorted as S3 lists them."""
        check_prefix(prefix)
        folder = self.root / prefix.rpartition("/")[0] if "/" in prefix else self.root
        if not folder.is_dir():
            return
        found = []
        for directory, subfolders, files in os.walk(folder):
            subfolders[:] = [name for name in subfolders if not name.startswith(".")]
            relative = Path(directory).relative_to(self.root).as_posix()
            for name in files:
                if name.startswith("."):  # a write in progress, or not ours
                    continue
                key = name if relative == "." else f"{relative}/{name}"
                if key.startswith(prefix):
                    found.append(key)
        yield from sorted(found)

    def _path(self, key: str) -> Path:
        """The file for a valid key (it always lies under root: check_key refuses '..' and absolutes)."""
        return self.root / check_key(key)

    def _prune_empty_folders(self, folder: Path) -> None:
        """Remove folder and its parents while they are empty, stopping at root."""
        root = self.root.resolve()
        current = folder.resolve()
        while current != root and root in current.parents:
            try:
                current.rmdir()
            except OSError:  # not empty, or gone already: either way stop climbing
                return
            current = current.parent


def _read_capped(handle: IO[bytes], key: str, limit: int) -> bytes:
    """At most limit bytes from a stream; ObjectTooLargeError when there are more."""
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise _too_large(key, limit)
    return data


class S3Storage:
    """Objects in one bucket of an S3-compatible store (AWS, SeaweedFS, MinIO…), path-style addressed.

    Credentials not given here come from boto3's usual sources (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    AWS_REGION in the environment). The bucket is created when missing.
    """

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        *,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        region: str | None = None,
        max_object_bytes: int = MAX_OBJECT_BYTES,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 3,
    ) -> None:
        import boto3  # imported here: the embedded mode never needs it, and it is slow to import
        from botocore.config import Config

        self.endpoint = endpoint
        self.bucket = bucket
        self.max_object_bytes = max_object_bytes
        self._where = _display_endpoint(endpoint)
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            # Many S3-compatible stores reject the newer default checksum headers; send them only when
            # an operation requires one.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        session = boto3.session.Session(aws_access_key_id=access_key_id,
                                        aws_secret_access_key=secret_access_key,
                                        region_name=region)
        self._region = session.region_name or "us-east-1"
        with self._translated("connect to"):
            self._client: Any = session.client("s3", endpoint_url=endpoint, region_name=self._region,
                                               config=config)
        self._ensure_bucket()

    def __repr__(self) -> str:
        return f"S3Storage({self._where!r}, {self.bucket!r})"

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Upload data under key in one request (S3 replaces objects atomically)."""
        check_key(key)
        if len(data) > self.max_object_bytes:
            raise _too_large(key, self.max_object_bytes)
        with self._translated("store an object in"):
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such key; refused when over the size cap."""
        check_key(key)
        with self._translated("read an object from"):
            try:
                answer = self._client.get_object(Bucket=self.bucket, Key=key)
            except self._client.exceptions.NoSuchKey:
                return None
            body = answer["Body"]
            try:
                if int(answer.get("ContentLength") or 0) > self.max_object_bytes:
                    raise _too_large(key, self.max_object_bytes)
                # The declared length could lie: the read is capped as well.
                return _read_capped(body, key, self.max_object_bytes)
            finally:
                body.close()

    def delete(self, key: str) -> None:
        """Remove the object (S3 answers the same whether or not it existed)."""
        check_key(key)
        with self._translated("delete an object from"):
            self._client.delete_object(Bucket=self.bucket, Key=key)

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with prefix, in batches (an empty prefix is refused)."""
        if not check_prefix(prefix):
            raise InvalidObjectKeyError("Refusing to delete every object at once: give a prefix.")
        removed = 0
        batch: list[str] = []
        for key in self.keys(prefix):
            batch.append(key)
            if len(batch) == _S3_DELETE_BATCH:
                removed += self._delete_batch(batch)
                batch = []
        if batch:
            removed += self._delete_batch(batch)
        return removed

    def keys(self, prefix: str) -> Iterator[str]:
        """The keys that start with prefix, page by page, in S3's (sorted) order."""
        check_prefix(prefix)
        with self._translated("list the objects of"):
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                for item in page.get("Contents", ()):
                    yield item["Key"]

    def _delete_batch(self, keys: list[str]) -> int:
        """Delete up to 1,000 keys in one request; any key the store could not delete is an error."""
        with self._translated("delete objects from"):
            answer = self._client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True})
        if answer.get("Errors"):
            raise ObjectStorageError(f"The object store at {self._where} could not delete "
                                     f"{len(answer['Errors'])} object(s) of bucket {self.bucket!r}.")
        return len(keys)

    def _ensure_bucket(self) -> None:
        """Create the bucket when it does not exist yet (another replica creating it at once is fine)."""
        from botocore.exceptions import ClientError

        with self._translated("open"):
            try:
                self._client.head_bucket(Bucket=self.bucket)
                return
            except ClientError as exc:
                if _error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                    raise
            options: dict[str, Any] = {"Bucket": self.bucket}
            if self._region != "us-east-1":  # S3 refuses a location constraint naming its default region
                options["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
            exceptions = self._client.exceptions
            with contextlib.suppress(exceptions.BucketAlreadyOwnedByYou, exceptions.BucketAlreadyExists):
                self._client.create_bucket(**options)

    @contextlib.contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """Turn boto3's many exceptions into one ObjectStorageError with a plain message."""
        from botocore.exceptions import BotoCoreError, ClientError

        target = f"the object store at {self._where} (bucket {self.bucket!r})"
        try:
            yield
        except ObjectStorageError:
            raise
        except ClientError as exc:
            code = _error_code(exc)
            if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
                raise ObjectStorageError(
                    f"Could not {action} {target}: access was refused. Check AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY.") from exc
            answered = code or "an error"
            raise ObjectStorageError(f"Could not {action} {target}: it answered {answered}.") from exc
        except BotoCoreError as exc:
            raise ObjectStorageError(
                f"Could not {action} {target}: {type(exc).__name__} (is it running and reachable?)."
            ) from exc


def _error_code(exc: Any) -> str:
    """The S3 error code (or HTTP status) of a botocore ClientError."""
    error = exc.response.get("Error", {}) if hasattr(exc, "response") else {}
    return str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or "")


def _display_endpoint(endpoint: str) -> str:
    """The endpoint's host and port for messages: never a user name or password written into the URL."""
    parts = urlsplit(endpoint)
    return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else "(no host)"
