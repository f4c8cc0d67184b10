"""Several `streamlit run app.py` replicas in shared mode, and deploy/nginx.conf in Debian's nginx in front.

Every replica gets the same shared-mode settings (one PostgreSQL database, one S3 bucket), the same
workspace-link secret and the same `server.cookieSecret`, as a real deployment's replicas do. Tests
and benches both use it, so nothing here imports pytest.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

from lib.config import (
    API_KEY_NAME,
    AWS_ACCESS_KEY_ID_NAME,
    AWS_REGION_NAME,
    AWS_SECRET_ACCESS_KEY_NAME,
    DATA_DIR_NAME,
    DATABASE_URL_NAME,
    ENDPOINT_NAME,
    S3_BUCKET_NAME,
    S3_ENDPOINT_NAME,
    WORKSPACE_SECRET_NAME,
)
from tests.e2e.harness import StreamlitServer, free_port, start_streamlit
from tests.seaweedfs_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

ROOT = Path(__file__).resolve().parents[1]
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
UPSTREAM_SERVER = re.compile(r"^(\s*)server app:8501 resolve (.*);$", re.MULTILINE)
STICKY_COOKIE = "studio_replica"
NGINX_START_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class SharedSettings:
    """What every replica of one deployment shares: database, bucket, API and the two secrets."""

    database_url: str
    s3_endpoint: str
    bucket: str
    api_endpoint: str
    api_key: str
    workspace_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    cookie_secret: str = field(default_factory=lambda: secrets.token_hex(32))

    def environment(self, unused_data_dir: Path) -> dict[str, str | None]:
        """The replica's environment: shared mode on, and a data folder it must leave untouched."""
        return {
            DATABASE_URL_NAME: self.database_url,
            S3_ENDPOINT_NAME: self.s3_endpoint,
            S3_BUCKET_NAME: self.bucket,
            AWS_ACCESS_KEY_ID_NAME: ACCESS_KEY_ID,
            AWS_SECRET_ACCESS_KEY_NAME: SECRET_ACCESS_KEY,
            AWS_REGION_NAME: REGION,
            WORKSPACE_SECRET_NAME: self.workspace_secret,
            ENDPOINT_NAME: self.api_endpoint,
            API_KEY_NAME: self.api_key,
            DATA_DIR_NAME: str(unused_data_dir),
            "STREAMLIT_SERVER_COOKIE_SECRET": self.cookie_secret,  # Streamlit refuses it as a CLI flag
        }


def start_replica(settings: SharedSettings, folder: Path, name: str,
                  extra_env: Mapping[str, str | None] | None = None,
                  secrets_file: Path | None = None) -> StreamlitServer:
    """`streamlit run app.py` in shared mode on a free port; its log and (unused) data folder in folder.

    secrets_file, when given, is the replica's secrets.toml (e.g. [auth] and [team] for sign-in); every
    replica of a deployment gets the same one.
    """
    data_dir = folder / f"data-{name}"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = start_streamlit(
        "app.py",
        env={**settings.environment(data_dir), **(extra_env or {})},
        log_path=folder / f"replica-{name}.log",
        extra_args=("--secrets.files", str(secrets_file)) if secrets_file else (),
    )
    server.data_dir = data_dir
    return server


def port_of(server: StreamlitServer) -> int:
    """The loopback port a replica listens on."""
    return int(server.url.rsplit(":", 1)[1])


def render_nginx_conf(config: str, backends: list[int], listen_port: int, folder: Path) -> str:
    """deploy/nginx.conf with its upstream pointed at local ports, listening on loopback, runnable here."""
    match = UPSTREAM_SERVER.search(config)
    assert match, "deploy/nginx.conf must keep one `server app:8501 resolve ...;` line in its upstream"
    indent, options = match.group(1), match.group(2)
    # Literal addresses need no `resolve` (Debian's nginx 1.22 predates it); everything else stays as is.
    servers = "\n".join(f"{indent}server 127.0.0.1:{port} {options};" for port in backends)
    rendered = UPSTREAM_SERVER.sub(lambda _: servers, config)
    rendered = rendered.replace("listen 80;", f"listen 127.0.0.1:{listen_port};", 1)
    rendered = rendered.replace("access_log /dev/stdout;", f"access_log {folder}/access.log;", 1)
    temp_paths = "".join(f"    {kind}_temp_path {folder}/{kind};\n"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    rendered = rendered.replace("http {\n", "http {\n" + temp_paths, 1)
    if os.geteuid() == 0:
        rendered = "user root;\n" + rendered  # workers must reach the temporary folder
    return rendered


def nginx_binary() -> Path | None:
    """Debian's nginx, or None when it is not installed."""
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    return Path(found) if Path(found).exists() else None


class Nginx:
    """deploy/nginx.conf running in nginx in front of local ports; use as a context manager."""

    def __init__(self, binary: Path, backends: list[int], folder: Path) -> None:
        self._binary = binary
        self._folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._conf = folder / "nginx.conf"
        self._conf.write_text(render_nginx_conf(NGINX_CONF.read_text(), backends, self.port, folder))
        self._process: subprocess.Popen[bytes] | None = None

    def access_log(self) -> str:
        """Every request nginx has logged so far."""
        path = self._folder / "access.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __enter__(self) -> Nginx:
        """Start nginx and return once it answers on its port."""
        self._process = subprocess.Popen(
            [str(self._binary), "-p", str(self._folder), "-c", str(self._conf),
             "-e", str(self._folder / "error.log"), "-g", f"daemon off; pid {self._folder}/nginx.pid;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self._wait_until_serving()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop nginx by its process id: terminate, wait, then kill."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def _wait_until_serving(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + NGINX_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error_log = self._folder / "error.log"
                log = error_log.read_text(errors="replace") if error_log.exists() else ""
                raise RuntimeError(f"nginx exited ({self._process.returncode}): {log[-2000:]}")
            try:
                requests.get(self.url + "/_stcore/health", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise TimeoutError(f"nginx did not start listening within {NGINX_START_TIMEOUT_S:.0f} s")
