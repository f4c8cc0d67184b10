"""Team mode in the app (AppTest with a simulated user): sign-in screen, refusal, history per person,
budget, admins' Usage page; calls go to a real local server that counts them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from lib.config import API_KEY_NAME, DATA_DIR_NAME, ENDPOINT_NAME
from lib.store import HistoryStore
from lib.team import person_key
from tests.app_testing import APP, PAGES, RUN_TIMEOUT_S, assert_healthy, errors, finish_jobs

ISSUER = "http://localhost:9400"
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "team-mode-test-cookie-secret", "client_id": "image-studio", "client_secret": "any",
        "server_metadata_url": f"{ISSUER}/.well-known/openid-configuration"}
ANA = {"is_logged_in": True, "iss": ISSUER, "sub": "ana", "email": "ana@example.com", "email_verified": True,
       "name": "Ana"}
BOB = {"is_logged_in": True, "iss": ISSUER, "sub": "bob", "email": "bob@example.com", "email_verified": True,
       "name": "Bob"}
EVE = {"is_logged_in": True, "iss": ISSUER, "sub": "eve", "email": "eve@elsewhere.example",
       "email_verified": True, "name": "Eve"}
SIGNED_OUT = {"is_logged_in": False}


@pytest.fixture
def team_secrets(fault_server, data_dir: Path) -> dict[str, Any]:
    """Sign-in on, a team key against the fault server's "ok" endpoint, a budget of 5, Ana an admin."""
    fault_server.reset()
    return {API_KEY_NAME: "sk_test_team_key", ENDPOINT_NAME: fault_server.endpoint("ok"),
            DATA_DIR_NAME: str(data_dir), "auth": AUTH,
            "team": {"daily_credit_budget": 5, "admins": ["ana@example.com"],
                     "allowed_email_domains": ["example.com"]}}


def open_as(user: dict[str, Any], secrets: dict[str, Any], page: str | None = None) -> AppTest:
    """The app run once as this user (AppTest's simulated st.user), optionally on a page."""
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.secrets.update(secrets)
    at.user = user
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def generate(at: AppTest, prompt: str = "a lighthouse at dusk") -> None:
    """Type a prompt and press Generate (flux-2-pro: 4 credits)."""
    at.text_area(key="generate_prompt").set_value(prompt)
    finish_jobs(at.button(key="generate_run").click().run())


def sidebar_texts(at: AppTest) -> list[str]:
    """Plain texts and captions in the sidebar."""
    return [str(item.value) for item in (*at.sidebar.text, *at.sidebar.caption)]


def test_signed_out_sees_only_the_sign_in_screen(team_secrets) -> None:
    """Signed out: product name, one sentence, one Sign in button; no sidebar, no other page registered."""
    at = open_as(SIGNED_OUT, team_secrets)
    assert_healthy(at)
    assert [title.value for title in at.title] == ["Image Studio"]
    assert [button.label for button in at.button] == ["Sign in"]
    assert len(at.markdown) == 1 and "Sign in" in str(at.markdown[0].value)
    assert len(at.sidebar.children) == 0
    assert not at.text_area and not at.file_uploader
    assert "ws" not in at.query_params
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGES["history"])


def test_one_button_per_provider(team_secrets) -> None:
    """Several [auth.<name>] providers: one Sign in button each."""
    provider = {key: AUTH[key] for key in ("client_id", "client_secret", "server_metadata_url")}
    auth = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": AUTH["cookie_secret"],
            "google": provider, "okta": provider}
    at = open_as(SIGNED_OUT, {**team_secrets, "auth": auth})
    assert [button.label for button in at.button] == ["Sign in with google", "Sign in with okta"]


def test_incomplete_auth_section_refuses_everyone(team_secrets) -> None:
    """[auth] without a cookie secret: a plain message naming what is missing, nothing else reachable."""
    auth = {key: value for key, value in AUTH.items() if key != "cookie_secret"}
    at = open_as(ANA, {**team_secrets, "auth": auth})
    assert any("cookie_secret" in message for message in errors(at))
    assert not at.text_area and len(at.sidebar.children) == 0


def test_outsider_reads_a_plain_refusal(team_secrets) -> None:
    """An e-mail outside allowed_email_domains: the refusal and a Sign out button, nothing of the app."""
    at = open_as(EVE, team_secrets)
    assert_healthy(at)
    assert any("only for members of the team" in message for message in errors(at))
    assert [button.label for button in at.button] == ["Sign out"]
    assert not at.text_area and len(at.sidebar.children) == 0


def test_unverified_email_is_refused(team_secrets) -> None:
    """A team address the provider does not vouch for is refused too."""
    at = open_as({**ANA, "email_verified": False}, team_secrets)
    assert any("verified" in message for message in errors(at))
    assert not at.text_area


def test_signed_in_sidebar_shows_who_and_todays_budget(team_secrets) -> None:
    """Signed in: name, e-mail, "today: 0 of 5 credits", Sign out; no ?ws= in the address."""
    at = open_as(BOB, team_secrets)
    assert_healthy(at)
    assert "Signed in as Bob" in sidebar_texts(at) and "bob@example.com" in sidebar_texts(at)
    assert "today: 0 of 5 credits" in sidebar_texts(at)
    assert any(button.label == "Sign out" for button in at.sidebar.button)
    assert "ws" not in at.query_params


def test_history_follows_the_person_not_the_session(team_secrets, data_dir: Path, fault_server) -> None:
    """What Bob makes is kept under his person key: his next session sees it, Ana's does not."""
    first = open_as(BOB, team_secrets)
    generate(first)
    assert_healthy(first)
    assert not errors(first)
    assert "today: 4 of 5 credits" in sidebar_texts(first)
    assert "ws" not in first.query_params
    with HistoryStore(data_dir) as store:
        assert store.count(person_key(ISSUER, "bob")) == 1
        assert store.count(person_key(ISSUER, "ana")) == 0
    again = open_as(BOB, team_secrets, page=PAGES["history"])
    other = open_as(ANA, team_secrets, page=PAGES["history"])
    assert "a lighthouse at dusk" in _page_text(again)
    assert "a lighthouse at dusk" not in _page_text(other)


def test_a_planted_link_is_ignored_in_team_mode(team_secrets, data_dir: Path) -> None:
    """?ws= in the address is neither used nor kept: history is the signed-in person's."""
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.secrets.update(team_secrets)
    at.user = BOB
    at.query_params["ws"] = person_key(ISSUER, "ana")
    at.run()
    generate(at)
    assert "ws" not in at.query_params
    with HistoryStore(data_dir) as store:
        assert store.count(person_key(ISSUER, "bob")) == 1
        assert store.count(person_key(ISSUER, "ana")) == 0


def test_budget_refusal_sends_nothing(team_secrets, fault_server) -> None:
    """With 1 of 5 credits left, a 4-credit Generate is refused in words and never reaches the API."""
    at = open_as(BOB, team_secrets)
    generate(at)
    assert len(fault_server.posts()) == 1
    generate(at, "a second lighthouse")
    assert len(fault_server.posts()) == 1
    refusal = " ".join(errors(at))
    assert "budget" in refusal and "1 credit left" in refusal and "resets at 00:00 UTC" in refusal
    assert "today: 4 of 5 credits" in sidebar_texts(at)


def test_own_key_is_not_subject_to_the_team_budget(team_secrets, fault_server) -> None:
    """A person who pastes their own key spends it freely: the team budget neither refuses nor counts."""
    at = open_as(BOB, {**team_secrets, "team": {**team_secrets["team"], "daily_credit_budget": 1}})
    at.text_input(key="connection_api_key_field").set_value("sk_test_bobs_own_key").run()
    generate(at)
    assert_healthy(at)
    assert not errors(at)
    assert len(fault_server.posts()) == 1
    assert fault_server.posts()[0].headers["Authorization"] == "Bearer sk_test_bobs_own_key"
    assert any("team budget does not apply" in text for text in sidebar_texts(at))


def test_usage_page_for_admins_only(team_secrets, fault_server) -> None:
    """Ana (admin) sees spend per person with a CSV download; Bob is refused on the same address."""
    generate(open_as(BOB, team_secrets))
    admin = open_as(ANA, team_secrets, page="app_pages/usage.py")
    assert_healthy(admin)
    assert [title.value for title in admin.title] == ["Usage"]
    assert admin.metric[0].value == "4 credits"
    assert admin.download_button(key="usage_download_csv").label == "Download CSV"
    assert "bob@example.com" in str(admin.dataframe[0].value)
    refused = open_as(BOB, team_secrets, page="app_pages/usage.py")
    assert errors(refused) == ["The Usage page is only for the team's admins."]
    assert not refused.title or refused.title[0].value != "Usage"


def test_without_auth_the_app_is_unchanged(team_secrets) -> None:
    """No [auth]: no sign-in screen, the workspace link in the address, and no budget."""
    secrets = {key: value for key, value in team_secrets.items() if key != "auth"}
    at = open_as({}, secrets)
    assert_healthy(at)
    assert not any(button.label == "Sign in" for button in at.button)
    assert "ws" in at.query_params
    assert not any(text.startswith("today:") for text in sidebar_texts(at))


def _page_text(at: AppTest) -> str:
    """Everything the page put on screen, as one text (element protos included)."""
    return "\n".join(str(node.proto) for node in _nodes(at._tree) if getattr(node, "proto", None) is not None)


def _nodes(node: Any) -> Any:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def test_history_says_it_follows_the_account_when_signed_in(team_secrets) -> None:
    """Signed in, History speaks of the account, not of a link in the address bar."""
    at = open_as(ANA, team_secrets, page=PAGES["history"])
    captions = " ".join(str(caption.value) for caption in at.main.caption)
    assert "follows you to any browser or device" in captions
    assert "address bar" not in captions
