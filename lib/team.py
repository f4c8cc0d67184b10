"""Team mode: who may sign in, who is an admin, and each person's daily budget, read from secrets.

Sign-in uses Streamlit's standard `[auth]` section; the team's own rules live in `[team]`:

    [team]
    daily_credit_budget = 40                 # credits per person per UTC day; 0 or absent = no limit
    admins = ["lead@example.com"]            # who may open the Usage page
    allowed_email_domains = ["example.com"]  # if present, only verified e-mails in these domains

The secrets mapping is passed in (st.secrets in the app), so this module stays free of Streamlit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lib.config import secret_value

AUTH_SECTION = "auth"
TEAM_SECTION = "team"
# Streamlit's names: shared by every provider, and needed by each provider.
_SHARED_AUTH_KEYS = ("redirect_uri", "cookie_secret")
_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
_CALLBACK_PATH = "/oauth2callback"
# A person's history key: a prefix no minted workspace link uses, then a hash of issuer and subject.
PERSON_KEY_PREFIX = "person-"


@dataclass(frozen=True)
class TeamSettings:
    """What `[auth]` and `[team]` say; `sign_in` is False when there is no `[auth]` section at all."""

    sign_in: bool = False
    # Names for st.login: None is the provider configured directly in [auth], others are [auth.<name>].
    providers: tuple[str | None, ...] = ()
    daily_credit_budget: int = 0
    admins: frozenset[str] = frozenset()
    allowed_email_domains: tuple[str, ...] = ()
    # Set when [auth] or [team] is present but unusable: the app then refuses everyone (fails closed).
    problem: str | None = None

    @property
    def has_budget(self) -> bool:
        """True when each person's daily spend on the team's key is limited."""
        return self.daily_credit_budget > 0


@dataclass(frozen=True)
class Person:
    """A signed-in person as the identity provider described them."""

    issuer: str
    subject: str
    email: str | None = None
    email_verified: bool = False
    name: str | None = None

    @property
    def key(self) -> str:
        """This person's stable history key (the same on every browser and device)."""
        return person_key(self.issuer, self.subject)

    @property
    def display_name(self) -> str:
        """What the sidebar shows: the name, else the e-mail, else the subject."""
        return self.name or self.email or self.subject

    @property
    def verified_email(self) -> str | None:
        """The e-mail address in lower case when the provider vouches for it, else None."""
        return self.email.strip().lower() if self.email and self.email_verified else None


@dataclass(frozen=True)
class Member:
    """A signed-in person who is let in, with the team's settings that apply to them."""

    person: Person
    settings: TeamSettings

    @property
    def is_admin(self) -> bool:
        """True when this person may see the Usage page."""
        return is_admin(self.person, self.settings)


def person_key(issuer: str, subject: str) -> str:
    """The history key of issuer + subject: the store's id shape, and never one a link could carry."""
    digest = hashlib.sha256(f"{issuer}\x00{subject}".encode()).hexdigest()
    return PERSON_KEY_PREFIX + digest


def is_person_key(value: object) -> bool:
    """True when value is a person's history key (which must only ever come from sign-in, never a URL)."""
    return isinstance(value, str) and value.startswith(PERSON_KEY_PREFIX)


def read_team_settings(secrets: Mapping[str, Any] | None) -> TeamSettings:
    """Team mode's settings from a secrets mapping; sign-in stays off when there is no `[auth]` section."""
    auth = _section(secrets, AUTH_SECTION)
    if auth is None:
        return TeamSettings()
    providers, problem = _providers(auth)
    team = _section(secrets, TEAM_SECTION) or {}
    budget, budget_problem = _budget(team.get("daily_credit_budget"))
    admins, admins_problem = _text_list(team.get("admins"), "admins")
    domains, domains_problem = _text_list(team.get("allowed_email_domains"), "allowed_email_domains")
    return TeamSettings(
        sign_in=True,
        providers=providers,
        daily_credit_budget=budget,
        admins=frozenset(admin.lower() for admin in admins),
        allowed_email_domains=tuple(domain.lower().lstrip("@") for domain in domains),
        problem=problem or budget_problem or admins_problem or domains_problem,
    )


def person_from_claims(claims: Mapping[str, Any]) -> Person | None:
    """The person described by ID-token claims (st.user); None without a subject to key history on."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        return None
    # The issuer is in every ID token; the provider's name stands in only if a provider leaves it out.
    issuer = claims.get("iss") or f"provider:{claims.get('provider') or 'default'}"
    email = claims.get("email")
    name = claims.get("name")
    return Person(
        issuer=str(issuer),
        subject=subject,
        email=email if isinstance(email, str) and email else None,
        email_verified=claims.get("email_verified") in (True, "true", "True"),
        name=name if isinstance(name, str) and name else None,
    )


def refusal_reason(person: Person, settings: TeamSettings) -> str | None:
    """Why this person may not use the app, in plain words; None when they may."""
    if not settings.allowed_email_domains:
        return None
    if person.verified_email is None:
        return ("This app is only for members of the team, and your sign-in did not include a verified "
                "e-mail address. Ask an administrator for access.")
    domain = person.verified_email.rpartition("@")[2]
    if domain in settings.allowed_email_domains:
        return None
    return f"This app is only for members of the team; {person.verified_email} is not one of them."


def is_admin(person: Person, settings: TeamSettings) -> bool:
    """True when the person's verified e-mail is one of the configured admins."""
    return person.verified_email is not None and person.verified_email in settings.admins


def _section(secrets: Mapping[str, Any] | None, name: str) -> Mapping[str, Any] | None:
    """A section of secrets as a mapping; None when absent (or when there is no secrets file)."""
    value = secret_value(secrets, name)
    return value if isinstance(value, Mapping) else None


def _providers(auth: Mapping[str, Any]) -> tuple[tuple[str | None, ...], str | None]:
    """The usable providers in `[auth]`, and what is wrong when sign-in can't work as configured."""
    missing = [key for key in _SHARED_AUTH_KEYS if not _text(auth.get(key))]
    if missing:
        return (), f"Sign-in is switched on but [auth] lacks {', '.join(missing)}."
    if not str(auth["redirect_uri"]).rstrip().endswith(_CALLBACK_PATH):
        return (), f"Sign-in is switched on but [auth] redirect_uri must end with {_CALLBACK_PATH}."
    providers: list[str | None] = []
    if all(_text(auth.get(key)) for key in _PROVIDER_KEYS):
        providers.append(None)
    for name, section in auth.items():
        if isinstance(section, Mapping) and all(_text(section.get(key)) for key in _PROVIDER_KEYS):
            providers.append(str(name))
    if not providers:
        return (), ("Sign-in is switched on but no provider is complete: give client_id, client_secret "
                    "and server_metadata_url in [auth] or in an [auth.<name>] section.")
    return tuple(providers), None


def _budget(value: object) -> tuple[int, str | None]:
    if value is None:
        return 0, None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != int(value):
        return 0, "[team] daily_credit_budget must be a whole number of credits (0 means no limit)."
    return int(value), None


def _text_list(value: object, name: str) -> tuple[tuple[str, ...], str | None]:
    if value is None:
        return (), None
    if isinstance(value, str):  # a single address written without brackets
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        return (), f"[team] {name} must be a list of text, like [\"example.com\"]."
    return tuple(item.strip() for item in value if item.strip()), None


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())
