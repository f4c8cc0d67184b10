"""Two app replicas on one PostgreSQL and one SeaweedFS bucket, side by side and behind deploy/nginx.conf.

The services start once for the module (two replicas cost most of its time on two cores). The replica
kill comes last, since it takes replica A away from the tests after it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, Page, WebSocket, expect

from lib.budget_postgres import PostgresCreditBudget
from lib.local_studio import LocalStudioHandle
from tests.postgres_server import PostgresServer
from tests.replicas import STICKY_COOKIE, Nginx, SharedSettings, nginx_binary, port_of, start_replica
from tests.seaweedfs_server import SeaweedServer

from . import ui
from .harness import StreamlitServer, open_app

IN_NGINX_PROMPT = "A red kite over the dunes, seen through nginx"


@dataclass
class Deployment:
    """Replicas "a" and "b" sharing one database and one bucket, with nginx in front of both."""

    settings: SharedSettings
    replicas: dict[str, StreamlitServer]
    nginx: Nginx


def _nginx_or_skip() -> Path:
    """Debian's nginx, or a skip (a failure in CI, where it must be installed)."""
    binary = nginx_binary()
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("nginx is not installed (CI must have it: see .ci/run)")
        pytest.skip("nginx is not installed here (apt-get install nginx)")
    return binary


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, postgres_url: str, seaweedfs_server: SeaweedServer,
               local_studio: LocalStudioHandle) -> Iterator[Deployment]:
    """Two replicas started at once (their schema migrations race, as in a real rollout), nginx in front."""
    binary = _nginx_or_skip()
    folder = tmp_path_factory.mktemp("replicas")
    bucket = f"replicas-{secrets.token_hex(6)}"
    settings = SharedSettings(database_url=postgres_url, s3_endpoint=seaweedfs_server.endpoint, bucket=bucket,
                              api_endpoint=local_studio.endpoint, api_key=local_studio.api_key)
    started: dict[str, StreamlitServer] = {}
    failures: list[BaseException] = []

    def start(name: str) -> None:
        try:
            started[name] = start_replica(settings, folder, name)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=start, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        if failures:
            raise failures[0]
        with Nginx(binary, [port_of(started["a"]), port_of(started["b"])], folder) as nginx:
            yield Deployment(settings, started, nginx)
        for name, replica in started.items():
            replica.assert_no_traceback_logged()
            # Shared mode writes nothing to the local data folder, on any replica.
            assert replica.data_dir is not None and list(replica.data_dir.iterdir()) == [], name
    finally:
        for replica in started.values():
            replica.stop()
        seaweedfs_server.drop_bucket(bucket)


@pytest.fixture
def new_page(browser: Browser) -> Iterator[object]:
    """A factory of tabs, each in a browser context of its own (its own cookies, like another device)."""
    contexts = []

    def open_on(url: str, path: str = "") -> Page:
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        contexts.append(context)
        return open_app(context, url, path)

    yield open_on
    for context in contexts:
        context.close()


def workspace_link(page: Page) -> str:
    """The `?ws=` value in a tab's address bar."""
    [workspace] = parse_qs(urlparse(page.url).query)["ws"]
    return workspace


def expect_in_history_with_image(page: Page, prompt: str) -> None:
    """History holds one item with this prompt, and its thumbnail is a decoded picture (not a broken one)."""
    ui.go_to(page, "History")
    caption = ui.history_captions(page).filter(has_text=prompt[:40])
    expect(caption).to_have_count(1)
    # `has` is matched inside each container, so the inner locator starts from the page, not from stMain.
    mine = page.get_by_test_id("stImageCaption").filter(has_text=prompt[:40])
    picture = ui.history_items(page).filter(has=mine).locator("img")
    expect(picture).to_be_visible()
    picture.evaluate("img => img.decode()")  # rejects when the image could not be fetched or decoded
    assert picture.evaluate("img => img.naturalWidth") > 0


def test_an_item_made_on_one_replica_shows_with_its_image_on_the_other(deployment: Deployment,
                                                                       new_page) -> None:
    """Generate on replica A; the same workspace link opened on replica B shows it in History, image too."""
    prompt = "A lighthouse on a cliff at dusk, made on replica A"
    on_a = new_page(deployment.replicas["a"].url)
    ui.generate(on_a, prompt)
    workspace = workspace_link(on_a)
    on_b = new_page(deployment.replicas["b"].url, f"history?ws={workspace}")
    expect_in_history_with_image(on_b, prompt)
    # The same link: a replica with another secret would take the id for an old-style one and move it.
    assert workspace_link(on_b) == workspace


def test_a_browser_session_through_nginx_stays_on_one_replica(deployment: Deployment, new_page) -> None:
    """Through nginx: sticky cookie set; one websocket, upgraded by nginx, carries generate → History."""
    sockets: list[WebSocket] = []
    page = new_page(deployment.nginx.url)
    # The first websocket opened before this line; any opened after it would be a reconnection.
    page.on("websocket", lambda socket: sockets.append(socket))
    ui.generate(page, IN_NGINX_PROMPT)
    expect_in_history_with_image(page, IN_NGINX_PROMPT)
    cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
    assert cookies.get(STICKY_COOKIE), cookies
    # A session moved to another replica would reconnect (a new websocket) and lose the page it was on.
    assert sockets == []
    page.context.close()  # nginx logs a websocket when it closes
    assert _logged_upgrade(deployment.nginx), deployment.nginx.access_log()[-2000:]


def _logged_upgrade(nginx: Nginx) -> bool:
    """True once nginx's access log holds a /_stcore/stream request it answered 101 Switching Protocols."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = nginx.access_log().splitlines()
        if any("GET /_stcore/stream" in line and '" 101 ' in line for line in lines):
            return True
        time.sleep(0.1)
    return False


def _racing_process(database_url: str, person: str, limit: int) -> subprocess.Popen[str]:
    """Another OS process standing for a replica: 10 threads reserve 4 credits each once told to go."""
    script = (
        "import sys, threading\n"
        "from lib.budget_postgres import PostgresCreditBudget\n"
        "from lib.budget import Reservation\n"
        f"ledger = PostgresCreditBudget({database_url!r}, {limit}, max_connections=10)\n"
        "results = []\n"
        "go = threading.Event()\n"
        "def spend():\n"
        "    go.wait()\n"
        f"    results.append(isinstance(ledger.reserve({person!r}, 4), Reservation))\n"
        "threads = [threading.Thread(target=spend) for _ in range(10)]\n"
        "[thread.start() for thread in threads]\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
        "go.set()\n"
        "[thread.join() for thread in threads]\n"
        "ledger.close()\n"
        "print(sum(results), flush=True)\n"
    )
    return subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_replica_processes_spending_for_one_person_never_exceed_the_budget(
        postgres_server: PostgresServer) -> None:
    """Two OS processes (two replicas) race 20 reservations of 4 credits against 40: exactly 10 granted."""
    database_url = postgres_server.create_database()
    person = f"person-race-{secrets.token_hex(4)}"
    processes = [_racing_process(database_url, person, 40) for _ in range(2)]
    try:
        for process in processes:
            assert process.stdout is not None and process.stdout.readline().strip() == "ready", \
                process.communicate()[1][-2000:]
        outcomes = [process.communicate("go\n", timeout=60) for process in processes]
        assert [process.returncode for process in processes] == [0, 0], [err[-2000:] for _, err in outcomes]
        granted = [int(out.strip()) for out, _ in outcomes]
        assert sum(granted) == 10, granted
        ledger = PostgresCreditBudget(database_url, 40)
        try:
            assert ledger.spent(person) == 40
        finally:
            ledger.close()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        postgres_server.drop_database(database_url)


def test_killing_a_replica_mid_session_loses_nothing(deployment: Deployment, new_page) -> None:
    """Replica A is killed after generating: its item is on B with its image, B keeps generating, and
    nginx sends A's browsers to B."""
    made_on_a = "A windmill in a tulip field, made just before replica A died"
    on_a = new_page(deployment.replicas["a"].url)
    ui.generate(on_a, made_on_a)
    workspace = workspace_link(on_a)
    deployment.replicas["a"].process.kill()  # no goodbye: SIGKILL, mid-session
    deployment.replicas["a"].process.wait(timeout=10)

    on_b = new_page(deployment.replicas["b"].url, f"?ws={workspace}")
    made_on_b = "A windmill at night, made on replica B after A died"
    ui.generate(on_b, made_on_b)
    expect_in_history_with_image(on_b, made_on_a)
    expect(ui.history_captions(on_b).filter(has_text=made_on_b[:40])).to_have_count(1)

    # Every browser arriving through nginx is served, whichever replica its cookie first pointed at.
    for _ in range(3):
        through_nginx = new_page(deployment.nginx.url, f"history?ws={workspace}")
        expect(ui.history_captions(through_nginx)).to_have_count(2)
