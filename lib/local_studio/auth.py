"""Who is calling: sk_ API keys the server was started with, or HS256 JWTs signed with its secret."""

from __future__ import annotations

import hashlib
import hmac

import jwt

from lib.local_studio.config import StudioConfig
from lib.local_studio.errors import StudioError

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="image-studio"'}
_KEY_HINT = "Check that your API key starts with sk_ and is the one this server was started with."


def account_for(authorization: str | None, config: StudioConfig) -> str:
    """The ledger account named by an Authorization header; a StudioError (401) when there is none."""
    token = _bearer_token(authorization)
    if token.startswith("sk_"):
        return _account_for_key(token, config)
    if token.count(".") == 2 and config.jwt_secret:
        return _account_for_jwt(token, config.jwt_secret)
    raise _unauthorized(f"The token is not an API key. {_KEY_HINT}")


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise _unauthorized(f"No API key was sent: add 'Authorization: Bearer sk_...'. {_KEY_HINT}")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized(f"The Authorization header must read 'Bearer <your key>'. {_KEY_HINT}")
    return token


def _account_for_key(token: str, config: StudioConfig) -> str:
    # Compare every configured key in constant time, so timing says nothing about near misses.
    matches = [hmac.compare_digest(token.encode(), key.encode()) for key in config.api_keys]
    if not any(matches):
        raise _unauthorized(f"The API key is not valid. {_KEY_HINT}")
    # The ledger is keyed by a digest: the key itself is never kept anywhere it could be printed.
    return "key:" + hashlib.sha256(token.encode()).hexdigest()[:32]


def _account_for_jwt(token: str, secret: str) -> str:
    try:
        # A session token must expire (a leaked one can't work forever); nbf is checked when present;
        # `sub` names the user whose credits are spent.
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub", "exp"]})
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized(f"The session token has expired: sign in again. {_KEY_HINT}") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise _unauthorized(f"The session token lacks the {exc.claim!r} claim. {_KEY_HINT}") from exc
    except jwt.InvalidTokenError as exc:
        raise _unauthorized(f"The session token is not valid. {_KEY_HINT}") from exc
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise _unauthorized(f"The session token names no user. {_KEY_HINT}")
    return "user:" + subject


def _unauthorized(message: str) -> StudioError:
    return StudioError(401, message, headers=_CHALLENGE)
