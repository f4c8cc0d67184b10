"""deploy/nginx.conf in Debian's real nginx, in front of two small backends standing for two app replicas."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from tests.replicas import render_nginx_conf as render

ROOT = Path(__file__).resolve().parents[1]
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
STICKY_COOKIE = "studio_replica"


class _ReplicaHandler(BaseHTTPRequestHandler):
    """Answers like a replica would: health, pages naming the replica, and a websocket that echoes."""

    protocol_version = "HTTP/1.1"
    server: _Replica

    def do_GET(self) -> None:
        """Health, the websocket upgrade, or a page that says which replica served it."""
        if self.path == "/_stcore/health":
            self._answer(b"ok")
        elif self.path.startswith("/oauth2callback"):
            self._sign_in()
        elif self.path == "/_stcore/stream" and self.headers.get("Upgrade", "").lower() == "websocket":
            self._switch_protocols()
        else:
            self._answer(self.server.name.encode())

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("X-Replica", self.server.name)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _sign_in(self) -> None:
        """Set identity cookies as big as a sign-in's (split ID token and more: ~12 KB of headers)."""
        body = b"signed in"
        self.send_response(200)
        for part in range(3):
            self.send_header("Set-Cookie", f"_streamlit_user_{part}={'x' * 4000}; Path=/; HttpOnly")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _switch_protocols(self) -> None:
        """Accept the upgrade, report the headers that arrived, then echo one line tagged with our name."""
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("X-Replica", self.server.name)
        self.send_header("X-Seen-Upgrade", self.headers.get("Upgrade", ""))
        self.send_header("X-Seen-Connection", self.headers.get("Connection", ""))
        self.end_headers()
        self.wfile.flush()
        line = self.rfile.readline()
        self.wfile.write(self.server.name.encode() + b":" + line)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads answers, not logs."""


class _Replica(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str) -> None:
        super().__init__(("127.0.0.1", 0), _ReplicaHandler)
        self.name = name
        self.port = int(self.server_address[1])


@dataclass
class Proxy:
    """nginx running deploy/nginx.conf, and the replicas behind it by name."""

    url: str
    port: int
    replicas: dict[str, _Replica]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error_log = folder / "error.log"
            log = error_log.read_text(errors="replace") if error_log.exists() else ""
            pytest.fail(f"nginx exited ({process.returncode}): {log[-2000:]}")
        try:
            requests.get(url + "/_stcore/health", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    pytest.fail("nginx did not start listening within 15 s")


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Proxy]:
    """nginx with deploy/nginx.conf in front of replicas "a" and "b", on free loopback ports."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("nginx is not installed (CI must have it: see .ci/run)")
        pytest.skip("nginx is not installed here (apt-get install nginx)")
    replicas = {name: _Replica(name) for name in ("a", "b")}
    for replica in replicas.values():
        threading.Thread(target=replica.serve_forever, daemon=True).start()
    port = _free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(render(NGINX_CONF.read_text(), [r.port for r in replicas.values()], port, tmp_path))
    process = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log"),
         "-g", f"daemon off; pid {tmp_path}/nginx.pid;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_serving(f"http://127.0.0.1:{port}", process, tmp_path)
        yield Proxy(url=f"http://127.0.0.1:{port}", port=port, replicas=replicas)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for replica in replicas.values():
            replica.shutdown()
            replica.server_close()


def _websocket(proxy: Proxy, cookie: str) -> tuple[str, str]:
    """Open /_stcore/stream through nginx with a cookie; returns the 101 head and the echoed line."""
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as connection:
        connection.sendall(
            b"GET /_stcore/stream HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            + f"Cookie: {STICKY_COOKIE}={cookie}\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received:
            received += connection.recv(4096)
        head, _, rest = received.partition(b"\r\n\r\n")
        connection.sendall(b"hello\n")
        while not rest.endswith(b"\n"):
            chunk = connection.recv(4096)
            if not chunk:
                break
            rest += chunk
    return head.decode(), rest.decode()


def test_one_browser_stays_on_one_replica_and_its_websocket_follows(proxy: Proxy) -> None:
    """A cookie jar gets the sticky cookie once, then 20 pages and the websocket all reach one replica."""
    browser = requests.Session()
    first = browser.get(proxy.url + "/")
    assert first.status_code == 200 and STICKY_COOKIE in first.cookies
    replica = first.text
    answers = [browser.get(proxy.url + "/history").text for _ in range(20)]
    assert answers == [replica] * 20
    head, echoed = _websocket(proxy, browser.cookies[STICKY_COOKIE])
    assert head.startswith("HTTP/1.1 101")
    assert "X-Seen-Upgrade: websocket" in head and "X-Seen-Connection: upgrade" in head
    assert f"X-Replica: {replica}" in head and echoed == f"{replica}:hello\n"


def test_different_browsers_spread_over_the_replicas(proxy: Proxy) -> None:
    """New browsers are spread over both replicas (each stays on its own), not all sent to one."""
    seen: set[str] = set()
    for _ in range(40):
        browser = requests.Session()
        replica = browser.get(proxy.url + "/").text
        assert browser.get(proxy.url + "/").text == replica
        seen.add(replica)
        if seen == {"a", "b"}:
            break
    assert seen == {"a", "b"}


def test_health_passes_and_a_dead_replica_is_routed_around(proxy: Proxy) -> None:
    """/_stcore/health answers ok through nginx; when a browser's replica dies the other one serves it."""
    assert requests.get(proxy.url + "/_stcore/health", timeout=5).text == "ok"
    browser = requests.Session()
    replica = browser.get(proxy.url + "/").text
    proxy.replicas[replica].shutdown()
    proxy.replicas[replica].server_close()
    answer = browser.get(proxy.url + "/", timeout=10)
    assert answer.status_code == 200 and answer.text == ({"a", "b"} - {replica}).pop()


def test_sign_in_cookies_get_through_both_ways(proxy: Proxy) -> None:
    """The sign-in callback's ~12 KB of cookies pass nginx (no 502, issue #14290) and come back later."""
    browser = requests.Session()
    callback = browser.get(proxy.url + "/oauth2callback?code=abc&state=xyz", timeout=5)
    assert callback.status_code == 200 and len(browser.cookies.get("_streamlit_user_2", "")) == 4000
    assert browser.get(proxy.url + "/", timeout=5).status_code == 200


def test_upload_limit_matches_streamlit() -> None:
    """nginx lets through one file of Streamlit's maxUploadSize (plus its multipart framing), not more."""
    streamlit_mb = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    limit = re.search(r"client_max_body_size (\d+)m;", NGINX_CONF.read_text())
    assert limit and int(limit.group(1)) == streamlit_mb + 1
