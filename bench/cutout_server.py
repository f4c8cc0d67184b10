"""A slow background-removal server: each cut-out is answered after a fixed delay, as a remote engine would.

It speaks just enough of the API's contract for Remove background: POST <endpoint> with a Bearer `sk_`
token and an `input_image` data URL; the answer is `{"image_url": "data:image/png;base64,…",
"credits_used": 2}` after `delay_s` seconds. A photo of one flat colour has no subject, so it is refused
(400) after the same delay: a failure decided by the photo itself. It counts the requests in flight, so a
test or a benchmark can see that calls overlapped.
"""

from __future__ import annotations

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

from lib.contract import API_PATH, BACKGROUND_REMOVAL_CREDITS

API_KEY = "sk_bench_cutouts"
NO_SUBJECT = "No subject found in this photo: it is one flat colour."


class CutoutServer:
    """A threaded loopback server that answers each cut-out after `delay_s` seconds (a context manager)."""

    def __init__(self, delay_s: float = 2.0) -> None:
        self.delay_s = delay_s
        self.in_flight = 0
        self.most_in_flight = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The API endpoint to give a client."""
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}{API_PATH}"

    def __enter__(self) -> CutoutServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    def _started(self) -> None:
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def _finished(self) -> None:
        with self._lock:
            self.in_flight -= 1


def cut_out(data_url: str) -> bytes | None:
    """A stand-in cut-out (the photo with a transparent border) as PNG; None when there is no subject."""
    encoded = data_url.split(",", 1)[-1]
    with Image.open(io.BytesIO(base64.b64decode(encoded))) as photo:
        picture = photo.convert("RGBA")
    extrema = picture.convert("RGB").getextrema()
    if all(low == high for low, high in extrema):
        return None
    alpha = Image.new("L", picture.size, 0)
    width, height = picture.size
    alpha.paste(255, (width // 8, height // 8, width - width // 8, height - height // 8))
    picture.putalpha(alpha)
    out = io.BytesIO()
    picture.save(out, "PNG", compress_level=1)
    return out.getvalue()


def _handler_for(server: CutoutServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: tests and benchmarks print their own findings

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != API_PATH or self.headers.get("Authorization") != f"Bearer {API_KEY}":
                self._send(401 if self.path == API_PATH else 404, {"error": {"message": "Unauthorized."}})
                return
            server._started()
            try:
                server._stopping.wait(server.delay_s)
                png = cut_out(json.loads(body)["input_image"])
            finally:
                server._finished()
            if png is None:
                self._send(400, {"error": {"message": NO_SUBJECT}})
                return
            self._send(200, {"image_url": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
                             "credits_used": BACKGROUND_REMOVAL_CREDITS})

        def _send(self, status: int, payload: dict[str, object]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler

