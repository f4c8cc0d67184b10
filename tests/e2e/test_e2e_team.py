"""Team mode in a real browser, signing in through a real OpenID Connect provider on localhost."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fault_server import FaultServer
from tests.oidc_provider import Provider, person, running_provider, write_secrets

from . import ui
from .harness import StreamlitServer, start_streamlit, wait_idle

# The provider (run in this process) is built on Authlib APIs that Authlib itself now calls deprecated.
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning:authlib"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning:oidc_provider_mock")]
BUDGET = 5  # one flux-2-pro generation (4 credits) fits, a second does not
PEOPLE = [
    person("ana", "ana@example.com", "Ana"),
    person("bob", "bob@example.com", "Bob"),
    person("cleo", "cleo@example.com", "Cleo"),
    person("dan", "dan@example.com", "Dan"),
]


@dataclass
class TeamApp:
    """The app with sign-in on, its provider, and the API server that counts the calls it gets."""

    url: str
    server: StreamlitServer
    provider: Provider
    api: FaultServer


@pytest.fixture(scope="module")
def team_app(tmp_path_factory: pytest.TempPathFactory, fault_server: FaultServer) -> Iterator[TeamApp]:
    """`streamlit run app.py` with [auth] and [team] secrets, a provider, a team key on the fault server."""
    workdir = tmp_path_factory.mktemp("team_app")
    with running_provider(PEOPLE) as provider:
        secrets = write_secrets(workdir, provider, team={
            "daily_credit_budget": BUDGET, "admins": ["ana@example.com"],
            "allowed_email_domains": ["example.com"]}, settings={
            "IMAGE_STUDIO_API_KEY": "sk_test_team_key", "IMAGE_STUDIO_ENDPOINT": fault_server.endpoint("ok"),
            "IMAGE_STUDIO_DATA_DIR": str(workdir / "data")})
        server = start_streamlit("app.py", env={}, log_path=workdir / "streamlit.log",
                                 extra_args=("--secrets.files", str(secrets)))
        try:
            # Sign-in cookies are checked against redirect_uri's origin: the browser must use localhost too.
            yield TeamApp(server.url.replace("127.0.0.1", "localhost"), server, provider, fault_server)
            server.assert_no_traceback_logged()
        finally:
            server.stop()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[object]:
    """A factory of pages, each in a browser context of its own (its own cookies, like another device)."""
    contexts = []

    def open_page() -> Page:
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def sign_in(page: Page, app: TeamApp, sub: str, path: str = "") -> None:
    """Open the app, press Sign in, authorize as `sub` at the provider, and wait for the app's sidebar."""
    page.goto(f"{app.url}/{path}")
    ui.main(page).get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(rf"^{re.escape(app.provider.issuer)}/"))
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text(re.compile(r"^Signed in as "))).to_be_visible()
    wait_idle(page)


def test_deep_link_while_signed_out_shows_only_sign_in(team_app: TeamApp, new_page) -> None:
    """Opening /history signed out shows the product name and Sign in: no sidebar, no History."""
    page = new_page()
    page.goto(f"{team_app.url}/history")
    expect(ui.main(page).get_by_role("heading", name="Image Studio")).to_be_visible()
    expect(ui.main(page).get_by_role("button", name="Sign in")).to_be_visible()
    wait_idle(page)
    expect(page.get_by_test_id("stSidebar")).to_have_count(0)
    expect(ui.main(page).get_by_role("heading", name="History")).to_have_count(0)


def test_history_follows_the_person_to_another_browser(team_app: TeamApp, new_page) -> None:
    """Ana generates; Ana in a new browser context sees it in History; Bob does not, and no ?ws= is used."""
    first = new_page()
    sign_in(first, team_app, "ana")
    expect(first.get_by_test_id("stSidebar").get_by_text("Signed in as Ana")).to_be_visible()
    ui.generate(first, "a lighthouse at dusk, team test")
    expect(first.get_by_test_id("stSidebar").get_by_text(f"today: 4 of {BUDGET} credits")).to_be_visible()
    assert "ws=" not in first.url

    again = new_page()
    sign_in(again, team_app, "ana")
    ui.go_to(again, "History")
    expect(ui.history_captions(again).filter(has_text="a lighthouse at dusk, team test")).to_have_count(1)
    assert "ws=" not in again.url

    other = new_page()
    sign_in(other, team_app, "bob")
    ui.go_to(other, "History")
    expect(ui.main(other).get_by_role("heading", name="History", level=1)).to_be_visible()
    expect(ui.history_captions(other).filter(has_text="a lighthouse at dusk")).to_have_count(0)


def test_budget_refusal_sends_nothing_to_the_api(team_app: TeamApp, new_page) -> None:
    """Cleo's second 4-credit click passes her budget of 5: a plain budget message, no request sent."""
    page = new_page()
    sign_in(page, team_app, "cleo")
    ui.generate(page, "a red kite over the dunes")
    sent = len(team_app.api.posts())
    ui.type_prompt(page, "a second red kite")
    ui.button(page, "Generate").click()
    refusal = ui.main(page).get_by_test_id("stAlert").filter(has_text="budget")
    expect(refusal).to_contain_text("1 credit left")
    expect(refusal).to_contain_text("resets at 00:00 UTC")
    wait_idle(page)
    assert len(team_app.api.posts()) == sent


def test_sign_out_returns_to_the_sign_in_screen(team_app: TeamApp, new_page) -> None:
    """Sign out ends the provider's session too; then the app shows only Sign in, even on reload."""
    page = new_page()
    sign_in(page, team_app, "dan")
    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    # The provider supports ending its session: Streamlit sends the browser there, then back.
    page.wait_for_url(re.compile(rf"^{re.escape(team_app.provider.issuer)}/"))
    page.get_by_role("button", name="End session").click()
    expect(ui.main(page).get_by_role("button", name="Sign in")).to_be_visible()
    page.reload()
    expect(ui.main(page).get_by_role("button", name="Sign in")).to_be_visible()
    wait_idle(page)
    expect(page.get_by_test_id("stSidebar")).to_have_count(0)


def test_usage_page_for_the_admin(team_app: TeamApp, new_page, tmp_path: Path) -> None:
    """Ana (admin) finds Usage in the menu and downloads the CSV; Bob has no Usage in his menu."""
    page = new_page()
    sign_in(page, team_app, "ana")
    ui.go_to(page, "Usage")
    saved = ui.download(page, ui.main(page).get_by_role("button", name="Download CSV"), tmp_path)
    assert saved.read_text(encoding="utf-8").startswith("day,person,credits\n")
    other = new_page()
    sign_in(other, team_app, "bob")
    expect(other.get_by_test_id("stSidebar").get_by_role("link", name="Usage", exact=True)).to_have_count(0)
