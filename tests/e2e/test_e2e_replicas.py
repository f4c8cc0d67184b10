"""Two app replicas on one PostgreSQL and one SeaweedFS bucket, side by side and behind deploy/nginx.conf.

The services start once for the module (two replicas cost most of its time on two cores). The replica
kill comes last, since it takes replica A away from the tests after it. The sign-in budget race runs
first, on a pair of its own that stops before the module's pair starts (never four replicas at once).
"""

from __future__ import annotations

import os
import re
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

from lib.budget import utc_today
from lib.budget_postgres import PostgresCreditBudget
from lib.local_studio import LocalStudioHandle
from lib.team import person_key
from tests.fault_server import FaultServer
from tests.oidc_provider import Provider, person, running_provider, write_secrets
from tests.postgres_server import PostgresServer
from tests.replicas import STICKY_COOKIE, Nginx, SharedSettings, nginx_binary, port_of, start_replica
from tests.seaweedfs_server import SeaweedServer

from . import ui
from .harness import StreamlitServer, open_app, wait_idle

IN_NGINX_PROMPT = "A red kite over the dunes, seen through nginx"
TEAM_BUDGET = 5  # one flux-2-pro generation (4 credits) fits, a second does not
ANSWER_AFTER_S = 1.5  # long enough that both clicks are in flight before either answer comes back
TEAM_KEY = "sk_test_team_key"
CLICK_AT = "(button, at) => setTimeout(() => button.click(), at - Date.now())"


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


@dataclass
class TeamReplicas:
    """Replicas "a" and "b" with sign-in and a daily budget, on a database and a bucket of their own."""

    replicas: dict[str, StreamlitServer]
    provider: Provider
    api: FaultServer
    database_url: str

    def url(self, name: str) -> str:
        """A replica's own address on localhost (sign-in cookies are checked against redirect_uri's host)."""
        return self.replicas[name].url.replace("127.0.0.1", "localhost")


def _start_together(settings: SharedSettings, folder: Path, secrets_file: Path | None = None
                    ) -> dict[str, StreamlitServer]:
    """Replicas "a" and "b" started at once (their schema migrations race, as in a real rollout)."""
    started: dict[str, StreamlitServer] = {}
    failures: list[BaseException] = []

    def start(name: str) -> None:
        try:
            started[name] = start_replica(settings, folder, name, secrets_file=secrets_file)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=start, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        for replica in started.values():
            replica.stop()
        raise failures[0]
    return started


@pytest.fixture
def team_replicas(tmp_path: Path, postgres_server: PostgresServer,
                  seaweedfs_server: SeaweedServer) -> Iterator[TeamReplicas]:
    """Two signed-in replicas (same [auth] secrets, same cookie secrets) before an API that answers slowly."""
    database_url = postgres_server.create_database()
    bucket = f"team-replicas-{secrets.token_hex(6)}"
    with FaultServer(slow_seconds=ANSWER_AFTER_S) as api, running_provider([person("ana", "ana@example.com",
                                                                                   "Ana")]) as provider:
        settings = SharedSettings(database_url=database_url, s3_endpoint=seaweedfs_server.endpoint,
                                  bucket=bucket, api_endpoint=api.endpoint("slow"), api_key=TEAM_KEY)
        secrets_file = write_secrets(tmp_path, provider, settings={}, team={
            "daily_credit_budget": TEAM_BUDGET, "admins": ["ana@example.com"]})
        started = _start_together(settings, tmp_path, secrets_file)
        try:
            yield TeamReplicas(started, provider, api, database_url)
            _assert_served_cleanly(started)
        finally:
            _stop_all(started)
            seaweedfs_server.drop_bucket(bucket)
            postgres_server.drop_database(database_url)


def sign_in_on(page: Page, url: str, provider: Provider, sub: str) -> None:
    """Open a replica, press Sign in, authorize as `sub` at the provider, and wait for the app's sidebar."""
    page.goto(url)
    ui.main(page).get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(rf"^{re.escape(provider.issuer)}/"))
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_test_id("stSidebar").get_by_text("Signed in as Ana")).to_be_visible()
    wait_idle(page)


def click_generate_at(pages: list[Page], delay_ms: int = 500) -> None:
    """Press Generate on every page at one moment of the browser's clock (one Chromium: one clock)."""
    at = pages[0].evaluate("delay => Date.now() + delay", delay_ms)
    for page in pages:
        ui.button(page, "Generate").evaluate(CLICK_AT, at)


# The provider (run in this process) is built on Authlib APIs that Authlib itself now calls deprecated.
@pytest.mark.filterwarnings("ignore::DeprecationWarning:authlib")
@pytest.mark.filterwarnings("ignore::DeprecationWarning:oidc_provider_mock")
def test_one_person_signed_in_on_two_replicas_never_spends_past_the_budget(team_replicas: TeamReplicas,
                                                                           new_page) -> None:
    """Ana on replica A and on replica B presses Generate at the same moment with room for one image: the API
    gets one call, one page shows the image, the other the budget refusal, and Usage counts 4 credits."""
    pages: list[Page] = []
    prompts = [f"A heron in the reeds, asked for on replica {name.upper()}" for name in ("a", "b")]
    for name, prompt in zip(("a", "b"), prompts, strict=True):
        page = new_page(None)
        sign_in_on(page, team_replicas.url(name), team_replicas.provider, "ana")
        ui.type_prompt(page, prompt)
        pages.append(page)
    team_replicas.api.reset()

    click_generate_at(pages)

    # Each page settles: an image of the heron (the person's latest, from either click) or the refusal, and
    # then no job of the person's is left in progress on either replica.
    refused = [ui.main(page).get_by_test_id("stAlert").filter(has_text="budget") for page in pages]
    for page, refusal in zip(pages, refused, strict=True):
        heron = ui.main(page).get_by_test_id("stCaptionContainer").filter(has_text="A heron in the reeds")
        expect(heron.or_(refusal).first).to_be_visible()
    for page in pages:
        expect(ui.main(page).get_by_role("heading", name="In progress")).to_have_count(0)
        wait_idle(page)
    assert len(team_replicas.api.posts()) == 1  # one call paid; the refused click sent nothing
    assert [refusal.count() for refusal in refused].count(1) == 1, [r.all_inner_texts() for r in refused]
    loser = next(number for number, refusal in enumerate(refused) if refusal.count())
    expect(refused[loser]).to_contain_text("1 credit left")
    expect(refused[loser]).to_contain_text("resets at 00:00 UTC")
    winner = 1 - loser
    expect(ui.main(pages[winner]).get_by_test_id("stCaptionContainer").filter(has_text=prompts[winner])
           ).to_be_visible()

    ana = person_key(team_replicas.provider.issuer, "ana")
    ledger = PostgresCreditBudget(team_replicas.database_url, TEAM_BUDGET)
    try:
        assert ledger.spent(ana) == 4
        assert [(row.person, row.credits) for row in ledger.daily_spend(utc_today())] == [(ana, 4)]
    finally:
        ledger.close()
    # Both replicas tell Ana the same spend, and the admin's Usage page counts it once.
    for page in pages:
        page.reload()
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text(f"today: 4 of {TEAM_BUDGET} credits")).to_be_visible()
    ui.go_to(pages[1], "Usage")
    expect(ui.main(pages[1]).get_by_test_id("stMetric").filter(has_text="Total")).to_contain_text("4 credits")
    ui.go_to(pages[0], "History")
    expect(ui.history_captions(pages[0])).to_have_count(1)


def _assert_served_cleanly(started: dict[str, StreamlitServer]) -> None:
    """No replica logged a traceback, and none wrote to its local data folder (shared mode writes none)."""
    for name, replica in started.items():
        replica.assert_no_traceback_logged()
        assert replica.data_dir is not None and list(replica.data_dir.iterdir()) == [], name


def _stop_all(started: dict[str, StreamlitServer]) -> None:
    """Stop every replica."""
    for replica in started.values():
        replica.stop()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, postgres_url: str, seaweedfs_server: SeaweedServer,
               local_studio: LocalStudioHandle) -> Iterator[Deployment]:
    """Two replicas started at once (their schema migrations race, as in a real rollout), nginx in front."""
    binary = _nginx_or_skip()
    folder = tmp_path_factory.mktemp("replicas")
    bucket = f"replicas-{secrets.token_hex(6)}"
    settings = SharedSettings(database_url=postgres_url, s3_endpoint=seaweedfs_server.endpoint, bucket=bucket,
                              api_endpoint=local_studio.endpoint, api_key=local_studio.api_key)
    try:
        started = _start_together(settings, folder)
    except BaseException:
        seaweedfs_server.drop_bucket(bucket)
        raise
    try:
        with Nginx(binary, [port_of(started["a"]), port_of(started["b"])], folder) as nginx:
            yield Deployment(settings, started, nginx)
        _assert_served_cleanly(started)
    finally:
        _stop_all(started)
        seaweedfs_server.drop_bucket(bucket)


@pytest.fixture
def new_page(browser: Browser) -> Iterator[object]:
    """A factory of tabs, each in a browser context of its own (its own cookies, like another device)."""
    contexts = []

    def open_on(url: str | None, path: str = "") -> Page:
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        contexts.append(context)
        if url is None:  # a blank tab, e.g. for a sign-in that starts before the app's sidebar exists
            page = context.new_page()
            page.set_default_timeout(30_000)
            return page
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
