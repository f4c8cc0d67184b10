"""Run `streamlit run` as a real server process and drive it with Debian's Chromium (tests and benches)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# Headless, and nothing that reaches out to the network on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
CONNECTION_VARS = ("IMAGE_STUDIO_ENDPOINT", "IMAGE_STUDIO_API_KEY", "IMAGE_STUDIO_TIMEOUT")
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def chromium_path() -> str | None:
    """Path of the system Chromium, or None when it is not installed."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    return shutil.which("chromium")


def launch_chromium(playwright):  # -> playwright.sync_api.Browser
    """Start headless Chromium from the system package (no browser download)."""
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)


def free_port() -> int:
    """A TCP port on the loopback that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class StreamlitServer:
    """A `streamlit run` process serving one script on the loopback."""

    url: str
    process: subprocess.Popen
    log_path: Path
    data_dir: Path | None = None

    @property
    def pid(self) -> int:
        """Process id of the server."""
        return self.process.pid

    def log(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def assert_no_traceback_logged(self) -> None:
        """The server printed no Python traceback (an error it caught would still show one)."""
        log = self.log()
        assert "Traceback (most recent call last)" not in log, log[-4000:]

    def stop(self) -> None:
        """Stop the server by its process id: terminate, wait, then kill."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def server_env(overrides: Mapping[str, str | None]) -> dict[str, str]:
    """This process's environment without connection settings, plus overrides (None removes a name)."""
    env = {k: v for k, v in os.environ.items() if k not in CONNECTION_VARS}
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    env["PYTHONUNBUFFERED"] = "1"
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def start_streamlit(
    script: str | Path = "app.py",
    *,
    env: Mapping[str, str | None],
    log_path: Path,
    cwd: Path = ROOT,
    deadline_s: float = 60.0,
    extra_args: tuple[str, ...] = (),
) -> StreamlitServer:
    """Start `streamlit run script` on a free port and return once /_stcore/health says ok."""
    port = free_port()
    # A secrets location that does not exist keeps any secrets.toml of the machine (project or home) out.
    secrets = log_path.parent / f"no-secrets-{port}.toml"
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--secrets.files", str(secrets),
        *extra_args,
    ]  # fmt: skip
    log_file = open(log_path, "ab")  # noqa: SIM115 - the child writes to it for its whole life
    try:
        process = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=server_env(env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    finally:
        log_file.close()
    server = StreamlitServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_healthy(server, deadline_s)
    except BaseException:
        server.stop()
        raise
    return server


def wait_healthy(server: StreamlitServer, deadline_s: float) -> None:
    """Poll /_stcore/health until it answers ok; fail with the server's log when it never does."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.process.returncode}:\n{server.log()[-4000:]}")
        try:
            if requests.get(f"{server.url}/_stcore/health", timeout=2).text.strip() == "ok":
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"streamlit not healthy after {deadline_s:.0f} s:\n{server.log()[-4000:]}")


@contextlib.contextmanager
def running_app(workdir: Path, env: Mapping[str, str | None] | None = None) -> Iterator[StreamlitServer]:
    """`streamlit run app.py` with its own data folder and log file in workdir; stopped on exit."""
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = start_streamlit(
        "app.py",
        env={"IMAGE_STUDIO_DATA_DIR": str(data_dir), **(env or {})},
        log_path=workdir / "streamlit.log",
    )
    server.data_dir = data_dir
    try:
        yield server
    finally:
        server.stop()


def wait_idle(page, timeout_ms: float = 30_000) -> None:
    """Wait until the app's script is not running (pair it with an expect on what should be shown)."""
    page.locator(IDLE).wait_for(state="attached", timeout=timeout_ms)


def open_app(context, url: str, path: str = "", timeout_ms: float = 30_000):  # -> Page
    """A new tab on the app, returned once the first run has finished and the sidebar is shown."""
    from playwright.sync_api import expect

    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    page.goto(f"{url}/{path.lstrip('/')}")
    wait_idle(page, timeout_ms)
    expect(page.get_by_test_id("stSidebar")).to_be_visible(timeout=timeout_ms)
    return page


def assert_no_traceback(page) -> None:
    """No exception box and no Python traceback reached the user."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert "Traceback (most recent call last)" not in page.content()
