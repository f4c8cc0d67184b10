"""A real PostgreSQL server for tests: Debian's server binaries, a temporary cluster, a free loopback port.

`initdb` refuses to run as root, and tests often run as root: the server then runs as the `postgres`
user (via runuser) in a folder that user may write. Each test module gets a database of its own (cloned
from an empty template); a test that needs an empty one makes it with create_database().
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.service_process import StartedService

_BINARY_FOLDERS = "/usr/lib/postgresql/*/bin"


def postgres_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl (newest version first), or None when PostgreSQL is missing."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    folders = sorted(glob.glob(_BINARY_FOLDERS), key=lambda path: _version_key(Path(path).parent.name))
    for folder in reversed(folders):
        if (Path(folder) / "pg_ctl").exists() and (Path(folder) / "initdb").exists():
            return Path(folder)
    return None


class PostgresServer(StartedService):
    """One throwaway PostgreSQL cluster; use as a context manager, then ask it for fresh databases."""

    def __init__(self, bin_dir: Path) -> None:
        self._bin = bin_dir
        self._folder = Path(tempfile.mkdtemp(prefix="pg-test-"))
        self._data = self._folder / "data"
        self.port = _free_port()
        self._template = "store_template"
        self._as_postgres = os.geteuid() == 0  # initdb refuses root: run the server as `postgres`

    @property
    def admin_url(self) -> str:
        """URL of the maintenance database, for creating and dropping others."""
        return self.url("postgres")

    def url(self, database: str) -> str:
        """A postgresql:// URL for one database of this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """initdb in the temporary folder, then start the server and wait until it accepts connections."""
        if self._as_postgres:
            os.chmod(self._folder, 0o777)
            shutil.chown(self._folder, user="postgres")
        self._run("initdb", "-D", str(self._data), "--auth=trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync")
        options = (f"-p {self.port} -k {self._folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self._data), "-w", "-t", "60", "-l", str(self._folder / "log"),
                  "-o", options, "start")
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self._template)))

    def create_database(self) -> str:
        """A new empty database (cloned from a template, fast); returns its URL."""
        name = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(self._template)))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by create_database, closing whatever is still connected to it."""
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        if self._data.exists():
            self._run("pg_ctl", "-D", str(self._data), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(self._folder, ignore_errors=True)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        """Run a PostgreSQL program, as the `postgres` user when we are root."""
        command = [str(self._bin / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run; skipped when it is not installed, except in CI."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("PostgreSQL is not installed (CI must have it: see .ci/run)")
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql)")
    with PostgresServer(bin_dir) as server:
        yield server


@pytest.fixture(scope="module")
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A database of this test module's own (tests keep apart by using fresh workspace ids), then dropped.

    Creating a database costs most of a second here, so tests that need an empty one use
    `postgres_server.create_database()` themselves.
    """
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


def _free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _version_key(name: str) -> tuple[int, ...]:
    """"15" -> (15,), so folders sort by version number rather than as text."""
    return tuple(int(part) for part in name.split(".") if part.isdigit())
