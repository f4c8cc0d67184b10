"""A small server speaking the Image Studio contract whose next answers a browser test chooses."""

from __future__ import annotations

import io
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

from lib.contract import API_PATH, aspect_ratio_value

FAULT_KEY = "sk_fault_server_key"
GARBAGE = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"

# mode -> (status, JSON error message); "ok", "garbage" and "timeout" are handled apart.
# The 401 echoes the token it was sent, as careless servers do: the app must never show it.
FAULTS = {
    "401": (401, "Invalid API key {token}. Use a key with the sk_ prefix."),
    "402": (402, "Insufficient credits."),
    "429": (429, "Too many requests."),
    "500": (500, "Internal server error."),
}


@dataclass
class Seen:
    """What the server was sent: one entry per request, for assertions on what left the app."""

    actions: list[str] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)


class FaultServer:
    """Answers like the API while mode is "ok"; otherwise with the chosen fault, on every request."""

    def __init__(self, *, api_key: str = FAULT_KEY, delay_s: float = 30.0) -> None:
        self.api_key = api_key
        self.mode = "ok"
        self.delay_s = delay_s
        self.seen = Seen()
        self._files: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """Scheme, host and port of the server."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def endpoint(self) -> str:
        """The API endpoint URL to give the app."""
        return self.base_url + API_PATH

    def start(self) -> FaultServer:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release slow answers and stop serving."""
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer_ok(self, body: dict) -> tuple[int, dict]:
        action = body.get("action", "generate")
        if action == "enhance_prompt":
            return 200, {"enhanced_prompt": f"{body.get('prompt', '')}, soft light", "credits_used": 0}
        width = 1024
        height = round(width / aspect_ratio_value(body.get("aspect_ratio") or "1:1") / 16) * 16
        buffer = io.BytesIO()
        Image.new("RGB", (width, height), (40, 90, 160)).save(buffer, "PNG")
        file_id = uuid.uuid4().hex
        with self._lock:
            self._files[file_id] = buffer.getvalue()
        return 200, {
            "image_url": f"{self.base_url}/files/{file_id}.png",
            "width": width,
            "height": height,
            "credits_used": 1,
            "credits_remaining": 99,
            "request_id": f"req_{file_id[:12]}",
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
                pass

            def _send(
                self, status: int, payload: bytes, content_type: str, headers: dict | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("X-Request-Id", f"req_fault_{uuid.uuid4().hex[:10]}")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                file_id = self.path.removeprefix("/files/").removesuffix(".png")
                data = server._files.get(file_id)
                if data is None:
                    self._send(404, b'{"error": {"message": "Not found"}}', "application/json")
                else:
                    self._send(200, data, "image/png")

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                with server._lock:
                    server.seen.actions.append(str(body.get("action", "generate")))
                    server.seen.authorizations.append(self.headers.get("Authorization", ""))
                    server.seen.bodies.append(raw)
                mode = server.mode
                if mode == "timeout":
                    # Hold the answer until the app has given up (or the server stops), then hang up.
                    server._release.wait(server.delay_s)
                    return
                if mode == "garbage":
                    self._send(200, GARBAGE, "text/html")
                    return
                if mode in FAULTS:
                    status, message = FAULTS[mode]
                    extra = {"Retry-After": "1"} if status == 429 else {}
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    message = message.format(token=token)
                    payload = json.dumps({"error": {"message": message, "code": status}}).encode()
                    self._send(status, payload, "application/json", extra)
                    return
                if self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    self._send(401, b'{"error": {"message": "Invalid API key"}}', "application/json")
                    return
                status, answer = server._answer_ok(body)
                self._send(status, json.dumps(answer).encode(), "application/json")

        return Handler
