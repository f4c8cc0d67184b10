"""The Image Studio error family: one root, plain-language messages, built from any HTTP answer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

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


class _Answer(NamedTuple):
    """How the client reads one HTTP error status: the class to raise and what to tell people."""

    kind: type[ImageStudioError]
    message: str  # may use {status}
    quotes_server: bool = True  # add the server's own words, when it sent some


_LIMIT_MIB = MAX_BODY_BYTES // (1024 * 1024)
# 429 and 5xx are read by error_from_response itself: one needs Retry-After, the other is a range.
_ANSWERS: dict[int, _Answer] = {
    400: _Answer(InvalidRequestError, "The service refused the request (HTTP {status})."),
    401: _Answer(
        AuthenticationError,
        "The API key is missing or invalid. Check that you copied the whole key and that it starts with sk_.",
    ),
    402: _Answer(
        InsufficientCreditsError,
        "Your organisation is out of credits. Top up in the billing dashboard, then try again.",
        quotes_server=False,
    ),
    403: _Answer(AuthenticationError, "This API key is not allowed to do that. Check the key's permissions."),
    404: _Answer(
        ImageStudioError, "The service was not found at this address (HTTP 404). Check the endpoint URL."
    ),
    413: _Answer(
        InvalidRequestError,
        f"The request was too large for the service (the limit is {_LIMIT_MIB} MiB). "
        "Use fewer or smaller input images.",
        quotes_server=False,
    ),
    415: _Answer(InvalidRequestError, "The service did not accept the request's format (HTTP 415)."),
    422: _Answer(InvalidRequestError, "The service refused the request (HTTP {status})."),
}
_SERVER_TROUBLE = _Answer(
    ServerError,
    "The image service is having trouble (HTTP {status}). Please try again in a minute.",
    quotes_server=False,
)
_OTHER = _Answer(ImageStudioError, "The service answered with an unexpected error (HTTP {status}).")
_MAX_DETAIL_CHARS = 500
_REDACTED = "[redacted]"
# A run this long of the key's characters is treated as the key: shorter runs occur in ordinary text.
_MIN_SECRET_RUN = 8


def error_from_response(
    status_code: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    redact: str | None = None,
) -> ImageStudioError:
    """The right ImageStudioError for an HTTP error answer, whatever its body looks like."""
    request_id = request_id_from(headers)
    if status_code == 429:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        wait = f"wait {retry_after:.0f} seconds" if retry_after is not None else "wait a moment"
        return RateLimitError(
            f"Too many requests right now. Please {wait} and try again.",
            status_code=status_code,
            request_id=request_id,
            retry_after=retry_after,
        )
    answer = _ANSWERS.get(status_code) or (_SERVER_TROUBLE if status_code >= 500 else _OTHER)
    message = answer.message.format(status=status_code)
    detail = _detail_from_body(body, redact) if answer.quotes_server else None
    if detail:
        message += f" The service said: {_sentence(detail)}"
    return answer.kind(message, status_code=status_code, request_id=request_id)


def request_id_from(headers: Mapping[str, str]) -> str | None:
    """The server's id for a request from its X-Request-Id header, for support; None when absent."""
    return headers.get("X-Request-Id") or None


def redact_secret(text: str, secret: str | None) -> str:
    """The text with the secret, in any letter case, and every 8+ character run of it replaced."""
    if not secret or not text:
        return text
    folded_text, folded_secret = _ascii_folded(text), _ascii_folded(secret)
    # Any run of _MIN_SECRET_RUN or more of the secret's characters is covered by its windows of that length.
    size = min(_MIN_SECRET_RUN, len(folded_secret))
    windows = {folded_secret[start : start + size] for start in range(len(folded_secret) - size + 1)}
    spans: list[tuple[int, int]] = []
    for window in windows:
        start = folded_text.find(window)
        while start != -1:
            spans.append((start, start + size))
            start = folded_text.find(window, start + 1)
    if not spans:
        return text
    pieces: list[str] = []
    shown_up_to = 0
    for start, end in _merged(spans):
        pieces += [text[shown_up_to:start], _REDACTED]
        shown_up_to = end
    pieces.append(text[shown_up_to:])
    return "".join(pieces)


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


def _detail_from_body(body: bytes, redact: str | None = None) -> str | None:
    """The server's own words from {"error": {"message"}}, {"error": "..."} or {"message": "..."}.

    The secret is removed before the text is shortened, so a cut can't leave part of it behind.
    """
    try:
        payload: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
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
            # Only the start can be shown, and redacting a megabyte against a long JWT takes seconds.
            # A cut through a copy of the key leaves at most 7 of its characters: too few to redact or use.
            text = candidate.strip()[: 4 * _MAX_DETAIL_CHARS + len(redact or "")]
            text = redact_secret(text, redact)
            return text if len(text) <= _MAX_DETAIL_CHARS else text[: _MAX_DETAIL_CHARS - 1] + "…"
    return None


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?", "…")) else text + "."


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _ascii_folded(text: str) -> str:
    """Lower-case ASCII letters only, so every character keeps its position (str.lower can change length)."""
    return text.translate(_ASCII_LOWER)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching (start, end) spans joined, in order."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
