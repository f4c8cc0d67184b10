"""The Local Studio's HTTP face: routes, body limits, auth, request ids; the work is in service.py."""

from __future__ import annotations

import logging
import secrets

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lib.contract import API_PATH, MAX_BODY_BYTES
from lib.local_studio.auth import account_for
from lib.local_studio.config import StudioConfig
from lib.local_studio.errors import StudioError, error_response
from lib.local_studio.service import Studio

logger = logging.getLogger(__name__)

MAX_IDEMPOTENCY_KEY_CHARS = 255
_REQUEST_ID = "image_studio.request_id"  # scope key: ASGI allows namespaced extension keys
_TOO_LARGE = (
    f"The request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB: "
    "downscale or re-encode the input images before sending."
)


def create_app(config: StudioConfig) -> Starlette:
    """The Local Studio as an ASGI app; config.public_base_url says where clients reach it (see runner.py)."""
    studio = Studio(config)

    async def image_studio(request: Request) -> Response:
        # Everything the headers can settle is settled before a byte of the body is read: a caller without a
        # valid key can't make this server buffer 10 MiB.
        account = account_for(request.headers.get("authorization"), studio.config)
        _require_json(request)
        idempotency_key = _idempotency_key(request)
        raw_body = await _read_body(request)
        answer = await run_in_threadpool(
            studio.handle,
            account,
            raw_body,
            request_id=request.scope[_REQUEST_ID],
            idempotency_key=idempotency_key,
        )
        headers = {"Cache-Control": "no-store", "X-Request-Id": answer.request_id}
        if answer.replayed:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse(answer.body, headers=headers)

    async def result_file(request: Request) -> Response:
        data = studio.results.get(request.path_params["file_id"])
        if data is None:
            raise StudioError(404, "This image has expired or never existed: generate it again.")
        # A result never changes under its id, so browsers may keep it for as long as they like.
        return Response(
            data,
            media_type="image/png",
            headers={
                "Cache-Control": "private, max-age=86400, immutable",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})

    app = Starlette(
        routes=[
            Route(API_PATH, image_studio, methods=["POST"]),
            Route("/files/{file_id}.png", result_file, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        middleware=[Middleware(RequestIdMiddleware)],
        exception_handlers={StudioError: _studio_error, HTTPException: _http_error},
    )
    app.state.studio = studio
    return app


class RequestIdMiddleware:
    """Gives every request an id, sends it back as X-Request-Id, and turns crashes into a JSON 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = "req_" + secrets.token_hex(12)
        scope[_REQUEST_ID] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                if "x-request-id" not in headers:  # a replayed answer keeps its first id
                    headers.append("X-Request-Id", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            return  # the caller hung up mid-body: nobody to answer, nothing was charged
        except Exception:
            # Logged without headers or body: they may hold the caller's token or pictures.
            logger.exception("Unexpected error in the Local Studio (request %s)", request_id)
            if started:
                raise
            response = error_response(500, f"The Local Studio failed unexpectedly (request {request_id}).")
            await response(scope, receive, send_with_id)


async def _read_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it is known (declared or counted) to be over the limit."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise StudioError(400, "The Content-Length header is not a number.")
        if int(declared) > MAX_BODY_BYTES:
            raise StudioError(413, _TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise StudioError(413, _TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


def _require_json(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise StudioError(415, "Send the request as JSON, with the header 'Content-Type: application/json'.")


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_CHARS:
        raise StudioError(
            400, f"The Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters long."
        )
    return key


async def _studio_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StudioError)
    return error_response(exc.status_code, exc.message, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: "There is nothing at this address.", 405: "This address does not accept that method."}
    return error_response(exc.status_code, messages.get(exc.status_code, str(exc.detail)), exc.headers)
