"""The error answers of the Local Studio: one exception type, one JSON shape."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse

ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_credits",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "idempotency_error",
    500: "server_error",
    503: "server_busy",
}


class StudioError(Exception):
    """A request the Local Studio answers with an HTTP error and a plain-language message."""

    def __init__(self, status_code: int, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = dict(headers or {})


def error_body(status_code: int, message: str) -> dict:
    """The JSON body of an error answer: {"error": {"message", "type", "code"}}."""
    fallback = "invalid_request_error" if status_code < 500 else "server_error"
    error_type = ERROR_TYPES.get(status_code, fallback)
    return {"error": {"message": message, "type": error_type, "code": status_code}}


def error_response(status_code: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """A JSON error response that no cache keeps."""
    return JSONResponse(
        error_body(status_code, message),
        status_code=status_code,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )
