"""The Image Studio error family: one root, plain-language messages, built from any HTTP answer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from lib.contract import MAX_BODY_BYTES


class ImageStudioError(Exception):
    """Anything that stopped an Image Studio call; `message` is fit to show to a person."""

    def __init__(
        self, message: str, *, status_code: int | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.request_id = request_id

    def __str__(self) -> str:
        if self.request_id:
            return f"{self.message} (request id: {self.request_id})"
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status_code={self.status_code!r}, "
            f"request_id={self.request_id!r})"
        )


class AuthenticationError(ImageStudioError):
    """The API key is missing, malformed or refused (401, 403)."""


class InsufficientCreditsError(ImageStudioError):
    """The organisation has run out of credits (402)."""


class InvalidRequestError(ImageStudioError):
    """The request was refused as invalid: by the server (400/413/415/422) or by the client before sending."""


class RateLimitError(ImageStudioError):
    """Too many requests (429); `retry_after` is the wait in seconds when the server said."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = 429,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, request_id=request_id)
        self.retry_after = retry_after


class ServerError(ImageStudioError):
    """The service had trouble of its own (5xx)."""


class UnexpectedResponseError(ImageStudioError):
    """The service answered, but not with what the contract promises (not JSON, no image, not an image)."""


class APITimeoutError(ImageStudioError, TimeoutError):
    """The service did not answer in time."""


class APIConnectionError(ImageStudioError, ConnectionError):
    """The service could not be reached, or the connection broke."""


def error_from_response(
    status_code: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    redact: str | None = None,
) -> ImageStudioError:
    """The right ImageStudioError for an HTTP error answer, whatever its body looks like."""
    request_id = headers.get("X-Request-Id") or None
    detail = _detail_from_body(body)
    if redact and detail:
        detail = detail.replace(redact, "[redacted]")
    said = f" The service said: {_sentence(detail)}" if detail else ""
    if status_code == 401:
        return AuthenticationError(
            "The API key is missing or invalid. Check that you copied the whole key and that it starts "
            "with sk_." + said,
            status_code=status_code,
            request_id=request_id,
        )
    if status_code == 403:
        return AuthenticationError(
            "This API key is not allowed to do that. Check the key's permissions." + said,
            status_code=status_code,
            request_id=request_id,
        )
    if status_code == 402:
        return InsufficientCreditsError(
            "Your organisation is out of credits. Top up in the billing dashboard, then try again.",
            status_code=status_code,
            request_id=request_id,
        )
    if status_code == 429:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        wait = f"wait {retry_after:.0f} seconds" if retry_after is not None else "wait a moment"
        return RateLimitError(
            f"Too many requests right now. Please {wait} and try again.",
            status_code=status_code,
            request_id=request_id,
            retry_after=retry_after,
        )
    if status_code == 413:
        limit_mib = MAX_BODY_BYTES // (1024 * 1024)
        return InvalidRequestError(
            f"The request was too large for the service (the limit is {limit_mib} MiB). "
            "Use fewer or smaller input images.",
            status_code=status_code,
            request_id=request_id,
        )
    if status_code == 415:
        return InvalidRequestError(
            "The service did not accept the request's format (HTTP 415)." + said,
            status_code=status_code,
            request_id=request_id,
        )
    if status_code in (400, 422):
        return InvalidRequestError(
            f"The service refused the request (HTTP {status_code})." + said,
            status_code=status_code,
            request_id=request_id,
        )
    if status_code == 404:
        return ImageStudioError(
            "The service was not found at this address (HTTP 404). Check the endpoint URL." + said,
            status_code=status_code,
            request_id=request_id,
        )
    if status_code >= 500:
        return ServerError(
            f"The image service is having trouble (HTTP {status_code}). Please try again in a minute.",
            status_code=status_code,
            request_id=request_id,
        )
    return ImageStudioError(
        f"The service answered with an unexpected error (HTTP {status_code})." + said,
        status_code=status_code,
        request_id=request_id,
    )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _detail_from_body(body: bytes) -> str | None:
    """The server's own words from {"error": {"message"}}, {"error": "..."} or {"message": "..."}."""
    try:
        payload: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    error = payload.get("error")
    candidates = [
        error.get("message") if isinstance(error, dict) else error,
        payload.get("message"),
        payload.get("detail"),
    ]
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()[:500]
    return None


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."
