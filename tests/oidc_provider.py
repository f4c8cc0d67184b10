"""A real OpenID Connect provider on localhost for sign-in tests and benches (oidc-provider-mock).

Its login page has a `sub` text field and an Authorize button; a subject given here comes back with the
claims given here (e-mail, name...). Any client id and secret are accepted. Everything stays on
`localhost`: Streamlit compares the sign-in cookie's origin with the configured redirect_uri.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLIENT_ID = "image-studio-tests"
CLIENT_SECRET = "any-secret-works-here"
COOKIE_SECRET = "sign-in-tests-cookie-secret-0123456789"


@dataclass(frozen=True)
class Provider:
    """A running provider: where it answers and the issuer its tokens name."""

    port: int

    @property
    def issuer(self) -> str:
        """The issuer URL (on localhost)."""
        return f"http://localhost:{self.port}"

    @property
    def metadata_url(self) -> str:
        """The OpenID discovery document Streamlit reads."""
        return f"{self.issuer}/.well-known/openid-configuration"


def person(sub: str, email: str, name: str, *, verified: bool = True) -> dict[str, Any]:
    """Claims of a predefined person at the provider."""
    return {"sub": sub, "email": email, "email_verified": verified, "name": name}


@contextlib.contextmanager
def running_provider(people: Sequence[Mapping[str, Any]]) -> Iterator[Provider]:
    """oidc-provider-mock on a free localhost port in a background thread; stopped on exit."""
    from oidc_provider_mock import User, run_server_in_thread

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise
    users = [User(sub=str(claims["sub"]), claims={k: v for k, v in claims.items() if k != "sub"})
             for claims in people]
    with run_server_in_thread(port=0, user_claims=users) as server:
        yield Provider(port=server.server_port)


def secrets_toml(provider: Provider, *, team: Mapping[str, Any], settings: Mapping[str, str]) -> str:
    """A secrets.toml: top-level settings, [auth] for this provider (Streamlit fills in {port}), [team]."""
    auth = {
        "redirect_uri": "http://localhost:{port}/oauth2callback",
        "cookie_secret": COOKIE_SECRET,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "server_metadata_url": provider.metadata_url,
    }
    lines = [f"{name} = {_toml(value)}" for name, value in settings.items()]
    lines += ["", "[auth]", *(f"{name} = {_toml(value)}" for name, value in auth.items())]
    lines += ["", "[team]", *(f"{name} = {_toml(value)}" for name, value in team.items())]
    return "\n".join(lines) + "\n"


def write_secrets(folder: Path, provider: Provider, *, team: Mapping[str, Any],
                  settings: Mapping[str, str]) -> Path:
    """Write secrets_toml(...) to folder/secrets.toml and return its path."""
    path = folder / "secrets.toml"
    path.write_text(secrets_toml(provider, team=team, settings=settings), encoding="utf-8")
    return path


def _toml(value: object) -> str:
    # Strings, whole numbers and lists of strings only: for those, JSON's spelling is also TOML's.
    return json.dumps(value)
