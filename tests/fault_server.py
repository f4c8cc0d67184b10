"""A small HTTP server for client tests: each path answers with one canned fault of the Image Studio API.

POST http://127.0.0.1:<port>/<fault>/api/v1/image-studio answers with <fault> (see FAULTS); the image
addresses it hands out are served from /files/. `switchable_endpoint` answers with whatever fault
`mode` names at the time, for an app whose endpoint is fixed while it runs. Every request is recorded
(method, path, headers, body) so tests can check what left the client.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

from lib.contract import API_PATH

HTML_GARBAGE = b"<!DOCTYPE html><html><body><h1>Bad Gateway</h1></body></html>"
SLOW_SECONDS = 3.0
SWITCH = "switch"  # the path segment of switchable_endpoint
Headers = dict[str, str] | None
ENDLESS_LIMIT_BYTES = 512 * 1024 * 1024  # the endless image stops here even if nobody hangs up
HUGE_SIDE = 13_000  # the side of the picture huge-pixels-image declares
PADDING_CHARS = 470  # where 401-padded starts echoing the whole token
# Server text dressed as markup: a page must show every character of it, and link or fetch nothing.
MARKUP_TEXT = (
    "[Click here](https://markup.invalid/link) to fix it ![tracker](https://markup.invalid/pixel.png) "
    "or see https://markup.invalid/bare and <a href=\"https://markup.invalid/html\">this</a> "
    "<img src=\"https://markup.invalid/html.png\">"
)

FAULTS = (
    "ok",  # 200 with an image_url on this server, same origin
    "ok-other-host",  # 200 with an image_url on "localhost" while the endpoint is 127.0.0.1
    "ok-relative",  # 200 with a relative image_url
    "ok-data-url",  # 200 with the image inline as a data: URL
    "401",  # the error message echoes the token it was sent, as careless servers do
    "402",
    "429",  # always, Retry-After: 60
    "429-then-200",  # first attempt 429 with Retry-After: 1
    "429-unreadable",  # always, with a Retry-After nobody can parse
    "503-then-200",
    "502-html",  # always, an HTML error page
    "500",
    "500-empty",
    "400",
    "413",  # with a Retry-After, which must still not make the client retry
    "html",  # 200 with an HTML page
    "no-image-url",  # 200 JSON without image_url
    "slow",  # answers after SLOW_SECONDS
    "drop",  # closes the connection without answering
    "endless-image",  # image_url streams bytes far past any cap, without a Content-Length
    "huge-declared-image",  # image_url declares a 10 GB Content-Length
    "not-an-image",  # image_url serves text
    "expired-image",  # image_url answers 404
    "huge-pixels-image",  # image_url serves a tiny, valid PNG that declares 13000 x 13000 pixels
    "401-padded",  # the message echoes the token upper-cased and in part, then whole after 470 characters
    "markup",  # 400 whose message is MARKUP_TEXT; enhance_prompt answers with MARKUP_TEXT as the prompt
    "slow-every-fourth-fails",  # answers after SLOW_SECONDS; every 4th call of this path is a 500
)


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    arrived_at: float = field(default_factory=time.monotonic, compare=False)  # server clock, for overlaps

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def good_png(size: tuple[int, int] = (160, 90)) -> bytes:
    """A small real PNG."""
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def huge_declared_png(side: int = HUGE_SIDE) -> bytes:
    """A PNG of about a hundred bytes whose header declares side x side RGB pixels (a decompression bomb).

    Its chunks and checksums are valid, so only the declared size gives it away; its pixel data holds one
    row, so anything that decodes it allocates the whole picture first and then finds it truncated.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    one_row = zlib.compress(b"\x00" + bytes(side * 3), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", one_row) + chunk(b"IEND", b"")


class FaultServer:
    """A threaded HTTP server on a free loopback port; use as a context manager."""

    def __init__(self, *, slow_seconds: float = SLOW_SECONDS) -> None:
        self.slow_seconds = slow_seconds
        self.mode = "ok"  # what switchable_endpoint answers with
        self.received: list[Received] = []
        self._attempts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.png = good_png()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fault-server", daemon=True)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def endpoint(self, fault: str) -> str:
        """The API endpoint that answers with `fault`."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        return f"{self.base_url}/{fault}{API_PATH}"

    @property
    def switchable_endpoint(self) -> str:
        """The API endpoint that answers with the fault `mode` names when the request arrives."""
        return f"{self.base_url}/{SWITCH}{API_PATH}"

    def reset(self) -> None:
        """Forget recorded requests and attempt counts."""
        with self._lock:
            self.received.clear()
            self._attempts.clear()

    def posts(self) -> list[Received]:
        """The API calls received, in order."""
        with self._lock:
            return [item for item in self.received if item.method == "POST"]

    def downloads(self) -> list[Received]:
        """The image downloads received, in order."""
        with self._lock:
            return [item for item in self.received if item.path.startswith("/files/")]

    def _record(self, received: Received, fault: str) -> int:
        with self._lock:
            self.received.append(received)
            self._attempts[fault] = self._attempts.get(fault, 0) + 1
            return self._attempts[fault]


def _handler_for(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real API servers do
        disable_nagle_algorithm = True  # headers and body go in separate writes: don't wait on delayed ACKs

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

        def do_GET(self) -> None:
            """Serve the result images."""
            server._record(Received("GET", self.path, dict(self.headers.items()), b""), self.path)
            name = self.path.removeprefix("/files/")
            if name == "good.png":
                self._send(200, server.png, "image/png")
            elif name == "huge-pixels.png":
                self._send(200, huge_declared_png(), "image/png")
            elif name == "not-an-image.png":
                self._send(200, b"this is plain text, not a picture\n" * 20, "image/png")
            elif name == "huge-declared.png":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(10 * 1000**3))
                self.end_headers()
                self._write_until_hang_up(server.png[:1024])
            elif name == "endless.png":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                self._write_until_hang_up(server.png[:8] + bytes(64 * 1024 - 8))
            else:
                self._send_json(404, {"error": {"message": "No such file.", "code": 404}})

        def do_POST(self) -> None:
            """Answer the API call with the fault the path names."""
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fault = self.path.removeprefix("/").removesuffix(API_PATH)
            if fault == SWITCH:
                fault = server.mode
            attempt = server._record(Received("POST", self.path, dict(self.headers.items()), body), fault)
            try:
                action = json.loads(body).get("action", "generate")
            except (ValueError, AttributeError):
                action = "generate"
            self._answer(fault, attempt, action)

        def _answer(self, fault: str, attempt: int, action: str) -> None:
            files = f"{server.base_url}/files"
            ok = {"image_url": f"{files}/good.png", "credits_used": 4, "credits_remaining": 96,
                  "request_id": f"req_{uuid.uuid4().hex[:12]}", "width": 160, "height": 90}
            if action == "enhance_prompt":
                ok = {"enhanced_prompt": "a detailed prompt", "credits_used": 0}
            if fault == "markup" and action == "enhance_prompt":
                self._send_json(200, {"enhanced_prompt": MARKUP_TEXT, "credits_used": 0})
                return
            if fault == "ok" or (fault in ("429-then-200", "503-then-200") and attempt > 1):
                self._send_json(200, ok)
            elif fault == "ok-other-host":
                self._send_json(200, {**ok, "image_url": f"http://localhost:{server.port}/files/good.png"})
            elif fault == "ok-relative":
                self._send_json(200, {**ok, "image_url": "/files/good.png"})
            elif fault == "ok-data-url":
                data_url = "data:image/png;base64," + base64.b64encode(server.png).decode("ascii")
                self._send_json(200, {**ok, "image_url": data_url})
            elif fault == "401":
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                self._send_json(401, {"error": {"message": f"Invalid API key {token}", "code": 401}})
            elif fault == "401-padded":
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                pieces = f"As typed: {token.upper()}; in part: {token[:12]} {token[-10:]}. "
                message = pieces.ljust(PADDING_CHARS, "x") + f" Invalid API key {token}"
                self._send_json(401, {"error": {"message": message, "code": 401}})
            elif fault == "402":
                self._send_json(402, {"error": "Insufficient credits"})
            elif fault == "429":
                self._send_json(429, {"message": "Slow down"}, {"Retry-After": "60"})
            elif fault == "429-then-200":
                self._send_json(429, {"message": "Slow down"}, {"Retry-After": "1"})
            elif fault == "429-unreadable":
                self._send_json(429, {"message": "Slow down"}, {"Retry-After": "soon-ish"})
            elif fault == "503-then-200":
                self._send_json(503, {"error": {"message": "Overloaded"}})
            elif fault == "502-html":
                self._send(502, HTML_GARBAGE, "text/html")
            elif fault == "500":
                self._send_json(500, {"error": {"message": "Internal error"}})
            elif fault == "500-empty":
                self._send(500, b"", "text/plain")
            elif fault == "400":
                self._send_json(400, {"error": {"message": "Prompt is not allowed", "code": 400}})
            elif fault == "413":
                self._send_json(413, {"error": "Body too large"}, {"Retry-After": "1"})
            elif fault == "html":
                self._send(200, HTML_GARBAGE, "text/html")
            elif fault == "no-image-url":
                self._send_json(200, {"credits_used": 4, "status": "done"})
            elif fault == "slow":
                server._stopping.wait(server.slow_seconds)
                self._send_json(200, ok)
            elif fault == "slow-every-fourth-fails":
                server._stopping.wait(server.slow_seconds)
                if attempt % 4 == 0:
                    self._send_json(500, {"error": {"message": "The engine failed.", "code": 500}})
                else:
                    self._send_json(200, ok)
            elif fault == "drop":
                self.close_connection = True
                self.connection.close()
            elif fault == "endless-image":
                self._send_json(200, {**ok, "image_url": f"{files}/endless.png"})
            elif fault == "huge-declared-image":
                self._send_json(200, {**ok, "image_url": f"{files}/huge-declared.png"})
            elif fault == "not-an-image":
                self._send_json(200, {**ok, "image_url": f"{files}/not-an-image.png"})
            elif fault == "expired-image":
                self._send_json(200, {**ok, "image_url": f"{files}/expired.png"})
            elif fault == "huge-pixels-image":
                self._send_json(200, {**ok, "image_url": f"{files}/huge-pixels.png"})
            elif fault == "markup":
                self._send_json(400, {"error": {"message": MARKUP_TEXT, "code": 400}})
            else:
                self._send_json(404, {"error": {"message": f"No fault called {fault!r}."}})

        def _send_json(self, status: int, payload: dict[str, Any], headers: Headers = None) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json", headers)

        def _send(self, status: int, body: bytes, content_type: str, headers: Headers = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Request-Id", f"req_fault_{status}")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _write_until_hang_up(self, chunk: bytes) -> None:
            """Stream until the client hangs up (or a generous limit): the client must stop on its own."""
            sent = 0
            try:
                while sent < ENDLESS_LIMIT_BYTES and not server._stopping.is_set():
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

    return Handler

