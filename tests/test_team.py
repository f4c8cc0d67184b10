"""Team mode settings: the pinned [auth] / [team] names, who is let in, who is an admin, person keys."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from lib.history_entry import is_valid_workspace_id
from lib.store import HistoryStore
from lib.team import (
    Member,
    Person,
    TeamSettings,
    is_admin,
    is_person_key,
    person_from_claims,
    person_key,
    read_team_settings,
    refusal_reason,
)
from lib.workspace_links import is_genuine_workspace_id, open_workspace_link

PROVIDER = {"client_id": "image-studio", "client_secret": "s3cret",
            "server_metadata_url": "http://localhost:9400/.well-known/openid-configuration"}
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "a-long-random-cookie-secret"}


def _person(email: str | None = "ana@example.com", verified: bool = True) -> Person:
    return Person(issuer="http://localhost:9400", subject="ana", email=email, email_verified=verified)


def test_no_auth_section_means_no_sign_in() -> None:
    """Without [auth] the app runs as before, even if [team] is present."""
    assert read_team_settings({}) == TeamSettings()
    assert read_team_settings({"team": {"daily_credit_budget": 10}}).sign_in is False
    assert read_team_settings(None).sign_in is False


def test_missing_secrets_file_means_no_sign_in() -> None:
    """A secrets mapping that raises FileNotFoundError (st.secrets with no file) reads as no sign-in."""

    class NoFile(dict):
        def get(self, *args: object, **kwargs: object) -> object:
            raise FileNotFoundError("no secrets.toml")

    assert read_team_settings(NoFile()).sign_in is False


def test_default_provider_in_auth_section() -> None:
    """client_id, client_secret and server_metadata_url directly in [auth] give one unnamed provider."""
    settings = read_team_settings({"auth": {**AUTH, **PROVIDER}})
    assert settings.sign_in and settings.problem is None
    assert settings.providers == (None,)
    assert settings.daily_credit_budget == 0 and not settings.has_budget


def test_named_providers_in_subsections() -> None:
    """Each complete [auth.<name>] section is one provider, in the order written."""
    settings = read_team_settings({"auth": {**AUTH, "google": PROVIDER, "microsoft": PROVIDER,
                                            "partial": {"client_id": "x"}}})
    assert settings.providers == ("google", "microsoft")
    assert settings.problem is None


def test_incomplete_auth_fails_closed_with_a_reason() -> None:
    """[auth] without a cookie secret, a proper callback or any provider is a problem, not an open app."""
    no_secret = read_team_settings({"auth": {"redirect_uri": AUTH["redirect_uri"], **PROVIDER}})
    assert no_secret.sign_in and "cookie_secret" in (no_secret.problem or "")
    bad_callback = read_team_settings({"auth": {**AUTH, **PROVIDER, "redirect_uri": "http://localhost:8501/"}})
    assert "/oauth2callback" in (bad_callback.problem or "")
    no_provider = read_team_settings({"auth": AUTH})
    assert "client_id" in (no_provider.problem or "")


def test_team_section_names() -> None:
    """daily_credit_budget, admins and allowed_email_domains are read (case-insensitive addresses)."""
    team = {"daily_credit_budget": 40, "admins": ["Lead@Example.com"],
            "allowed_email_domains": ["@Example.com"]}
    settings = read_team_settings({"auth": {**AUTH, **PROVIDER}, "team": team})
    assert settings.daily_credit_budget == 40 and settings.has_budget
    assert settings.admins == frozenset({"lead@example.com"})
    assert settings.allowed_email_domains == ("example.com",)
    assert settings.problem is None


def test_bad_team_values_are_problems() -> None:
    """A negative or fractional budget, or admins that are not text, are reported in plain words."""
    auth = {"auth": {**AUTH, **PROVIDER}}
    for budget in (-1, 2.5, "lots"):
        problem = read_team_settings({**auth, "team": {"daily_credit_budget": budget}}).problem
        assert "daily_credit_budget" in (problem or "")
    assert "admins" in (read_team_settings({**auth, "team": {"admins": [1, 2]}}).problem or "")


def test_person_from_claims_uses_issuer_and_subject() -> None:
    """The history key depends on issuer + subject only: e-mail or name changes keep the same history."""
    first = person_from_claims({"iss": "http://idp", "sub": "ana", "email": "ana@example.com",
                                "email_verified": True, "name": "Ana"})
    renamed = person_from_claims({"iss": "http://idp", "sub": "ana", "email": "ana@new.example"})
    other_issuer = person_from_claims({"iss": "http://other-idp", "sub": "ana"})
    assert first is not None and renamed is not None and other_issuer is not None
    assert first.key == renamed.key != other_issuer.key
    assert first.display_name == "Ana" and renamed.display_name == "ana@new.example"
    assert person_from_claims({"iss": "http://idp", "email": "x@example.com"}) is None


def test_person_key_is_a_store_id_but_marked_as_a_person() -> None:
    """A person key passes the store's id check and is recognisable, so links can refuse it."""
    key = person_key("http://idp", "ana")
    assert is_valid_workspace_id(key)
    assert is_person_key(key)
    assert not is_person_key("Zm9vYmFyYmF6cXV4cXV1eHF1dXg")
    assert person_key("http://idp", "ana") == key


def test_allowed_domains_need_a_verified_address_in_the_list() -> None:
    """Outsiders and unverified e-mails are refused with a plain reason; members are let in."""
    settings = TeamSettings(sign_in=True, providers=(None,), allowed_email_domains=("example.com",))
    assert refusal_reason(_person(), settings) is None
    assert "not one of them" in (refusal_reason(_person("eve@evil.example"), settings) or "")
    assert "verified" in (refusal_reason(_person(verified=False), settings) or "")
    assert "verified" in (refusal_reason(_person(email=None), settings) or "")
    # A look-alike domain is not the domain.
    assert refusal_reason(_person("eve@notexample.com"), settings) is not None
    assert refusal_reason(_person("eve@evil.example"), TeamSettings(sign_in=True)) is None


def test_admins_need_a_verified_address() -> None:
    """An admin is someone whose verified e-mail is listed; an unverified claim of it is not enough."""
    settings = TeamSettings(sign_in=True, admins=frozenset({"ana@example.com"}))
    assert is_admin(_person("ANA@example.com"), settings)
    assert not is_admin(_person(verified=False), settings)
    assert not is_admin(_person("bob@example.com"), settings)
    assert Member(_person(), settings).is_admin and not Member(_person(verified=False), settings).is_admin


def test_secrets_example_documents_the_pinned_names() -> None:
    """The example's team-mode sections, switched on, configure two providers and every [team] key."""
    text = (Path(__file__).resolve().parents[1] / ".streamlit" / "secrets.toml.example").read_text()
    # Switch on the commented [auth]/[team] lines (and their nested provider section) as an admin would.
    switched_on = "\n".join(re.sub(r"^(# )+(?=\[|[a-z_]+ = )", "", line) for line in text.splitlines())
    settings = read_team_settings(tomllib.loads(switched_on))
    assert settings.problem is None
    assert settings.providers == (None, "microsoft")
    assert settings.daily_credit_budget == 40
    assert settings.admins == frozenset({"lead@example.com"})
    assert settings.allowed_email_domains == ("example.com",)
    assert read_team_settings(tomllib.loads(text)).sign_in is False  # as shipped: sign-in stays off


def test_a_person_key_in_a_link_opens_nothing_of_theirs(tmp_path: Path) -> None:
    """A person's history key pasted as ?ws= is neither opened nor claimed as an old-style link."""
    secret = b"a deployment secret of enough length"
    key = person_key("http://idp", "ana")
    with HistoryStore(tmp_path) as store:
        store.add(key, "enhancement", prompt="ana's prompt", text="ana's detailed prompt", credits_used=0)
        opened = open_workspace_link(key, secret, store)
        assert not is_genuine_workspace_id(key, secret)
        assert opened.workspace_id != key and opened.notice is None
        assert store.count(opened.workspace_id) == 0 and store.count(key) == 1
