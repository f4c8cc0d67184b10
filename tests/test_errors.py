"""The error family: one class and message per HTTP status, the key redacted before any cut, app hints."""

from __future__ import annotations

import json

import pytest

from lib.errors import (
    AuthenticationError,
    ImageStudioError,
    InsufficientCreditsError,
    InvalidRequestError,
    RateLimitError,
    ServerError,
    error_from_response,
    redact_secret,
)
from lib.images import ImageInputError
from lib.ui.error_messages import WHERE_TO_SET_KEY, explain

KEY = "sk_live_Aardvark42Platypus"


def body(message: str) -> bytes:
    """An error body in the documented {"error": {"message": ...}} shape."""
    return json.dumps({"error": {"message": message}}).encode()


@pytest.mark.parametrize(
    ("status", "kind", "words", "quotes_server"),
    [
        (400, InvalidRequestError, "refused the request (HTTP 400)", True),
        (401, AuthenticationError, "missing or invalid", True),
        (402, InsufficientCreditsError, "billing dashboard", False),
        (403, AuthenticationError, "not allowed", True),
        (404, ImageStudioError, "Check the endpoint URL", True),
        (413, InvalidRequestError, "the limit is 10 MiB", False),
        (415, InvalidRequestError, "HTTP 415", True),
        (422, InvalidRequestError, "refused the request (HTTP 422)", True),
        (500, ServerError, "having trouble (HTTP 500)", False),
        (599, ServerError, "having trouble (HTTP 599)", False),
        (418, ImageStudioError, "unexpected error (HTTP 418)", True),
    ],
)
def test_each_status_has_one_class_and_message(
    status: int, kind: type, words: str, quotes_server: bool
) -> None:
    """Each status maps to its class and plain message; the server's words are added only where useful."""
    error = error_from_response(status, body("Prompt not allowed"), {"X-Request-Id": "req_9"})
    assert type(error) is kind
    assert words in error.message
    assert ("The service said: Prompt not allowed." in error.message) is quotes_server
    assert (error.status_code, error.request_id) == (status, "req_9")


def test_429_reads_retry_after() -> None:
    """429 is a RateLimitError that says how long to wait and keeps the wait in seconds."""
    error = error_from_response(429, b"", {"Retry-After": "7"})
    assert isinstance(error, RateLimitError) and error.retry_after == 7.0
    assert "wait 7 seconds" in error.message and error.request_id is None


def test_server_text_is_kept_as_written() -> None:
    """Markup in the server's message reaches the error untouched: the page decides how to show it."""
    text = "See [help](https://example.invalid) <b>now</b> *please*"
    assert f"The service said: {text}." in error_from_response(400, body(text), {}).message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"bad key {KEY}", "bad key [redacted]"),
        (f"bad key {KEY.upper()}!", "bad key [redacted]!"),
        (f"begins {KEY[:9]}, ends {KEY[-8:]}.", "begins [redacted], ends [redacted]."),
        (f"{KEY[2:12]}{KEY[4:20]}", "[redacted]"),
        (f"only {KEY[:7]} and {KEY[-7:]}", f"only {KEY[:7]} and {KEY[-7:]}"),
        ("nothing to hide", "nothing to hide"),
    ],
    ids=["whole", "upper-case", "pieces", "touching-pieces", "short-runs-stay", "no-key"],
)
def test_redact_secret_removes_every_run_of_eight(text: str, expected: str) -> None:
    """The key in any case and any 8+ character run of it is replaced; shorter runs are ordinary text."""
    assert redact_secret(text, KEY) == expected


def test_redaction_happens_before_the_message_is_shortened() -> None:
    """A key starting just before the 500-character cut leaves no piece of itself behind."""
    message = error_from_response(401, body("x" * 495 + KEY), {}, redact=KEY).message
    folded = message.lower()
    assert not any(KEY.lower()[start : start + 8] in folded for start in range(len(KEY) - 7))
    assert message.endswith("…")


def test_explain_adds_app_hints_without_repeating_the_message() -> None:
    """The page shows the client's message, then where in the app to act, then the request id."""
    refused = error_from_response(401, b"", {"X-Request-Id": "r1"})
    assert explain(refused) == f"{refused.message} {WHERE_TO_SET_KEY} Request id: `r1`"
    no_key = AuthenticationError("No API key was given.")
    assert explain(no_key) == f"No API key was given. {WHERE_TO_SET_KEY}"
    forbidden = error_from_response(403, b"", {})
    assert explain(forbidden) == forbidden.message  # a new key in the sidebar would not help
    broke = error_from_response(402, b"", {})
    assert explain(broke) == broke.message and "billing dashboard" in broke.message
    assert explain(RateLimitError("Too many requests right now.")) == "Too many requests right now."
    assert explain(ImageInputError("cat.png is too small")) == "cat.png is too small"
    assert explain(ImageStudioError("  ")).startswith("Something went wrong")


def test_a_body_full_of_key_copies_shows_none() -> None:
    """A megabyte of the key repeated, in changing case, still comes out with no run of it left."""
    text = " ".join(KEY if index % 2 else KEY.swapcase() for index in range(40_000))
    message = error_from_response(400, body(text), {}, redact=KEY).message
    folded = message.lower()
    assert not any(KEY.lower()[start : start + 8] in folded for start in range(len(KEY) - 7))
    assert "The service said: [redacted] [redacted]" in message
