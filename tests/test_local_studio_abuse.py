"""The Local Studio under abuse: auth before the body, capped engine work, hostile text, forged hosts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image

from lib.local_studio import LocalStudioHandle, engines

KLEIN = "flux-2-klein-9b"
TIMEOUT = 60


def post(studio: LocalStudioHandle, body: dict, **headers: str) -> requests.Response:
    """POST a JSON body with the studio's key."""
    all_headers = {"Authorization": f"Bearer {studio.api_key}", **headers}
    return requests.post(studio.endpoint, json=body, headers=all_headers, timeout=TIMEOUT)


def post_raw(studio: LocalStudioHandle, raw: bytes) -> requests.Response:
    """POST raw bytes as JSON with the studio's key."""
    headers = {"Authorization": f"Bearer {studio.api_key}", "Content-Type": "application/json"}
    return requests.post(studio.endpoint, data=raw, headers=headers, timeout=TIMEOUT)


def balance(studio: LocalStudioHandle) -> int:
    """Credits left, asked the free way."""
    return post(studio, {"action": "enhance_prompt", "prompt": "a cat"}).json()["credits_remaining"]


class EngineWatch:
    """Wraps the preview engine to count how many renders run at once (each made to last `hold_s`)."""

    def __init__(self, hold_s: float) -> None:
        self.hold_s = hold_s
        self.running = 0
        self.peak = 0
        self._lock = threading.Lock()
        self._real: Callable[..., Image.Image] = engines.render_preview

    def __call__(self, *args: object) -> Image.Image:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            time.sleep(self.hold_s)  # long enough for every request of the burst to arrive meanwhile
            return self._real(*args)
        finally:
            with self._lock:
                self.running -= 1


def test_401_comes_before_the_body_is_read(local_studio: LocalStudioHandle) -> None:
    """A request with a bad key that announces a big body gets its 401 without sending a byte of it."""
    endpoint = urlsplit(local_studio.endpoint)
    with socket.create_connection((endpoint.hostname, endpoint.port), timeout=10) as sock:
        sock.sendall(
            (
                f"POST {endpoint.path} HTTP/1.1\r\nHost: {endpoint.netloc}\r\n"
                "Authorization: Bearer sk_wrong_key_123\r\nContent-Type: application/json\r\n"
                "Content-Length: 9000000\r\n\r\n"
            ).encode()
        )
        # Before the fix the server waited for 9 MB that never come, and this read timed out.
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 401 Unauthorized"


@pytest.mark.parametrize(
    ("case", "raw"),
    [
        ("generate", b'{"prompt": "a cat \\ud800 on a mat", "model": "flux-2-klein-9b"}'),
        ("enhance", b'{"action": "enhance_prompt", "prompt": "\\udfff"}'),
        ("model", b'{"prompt": "a cat", "model": "\\ud800"}'),
        ("field name", b'{"prompt": "a cat", "\\ud800": 1}'),
    ],
)
def test_lone_surrogates_get_400(local_studio: LocalStudioHandle, case: str, raw: bytes) -> None:
    """Text with half a surrogate pair is a plain 400 naming the problem, never a 500."""
    response = post_raw(local_studio, raw)
    assert response.status_code == 400, (case, response.text)
    assert "not valid Unicode" in response.json()["error"]["message"]


def test_an_image_field_with_5000_digits_gets_400(local_studio: LocalStudioHandle) -> None:
    """input_image_ + 5,000 digits is an unknown field (400), not an integer conversion crash (500)."""
    field = "input_image_" + "9" * 5000
    response = post(local_studio, {"prompt": "blend", "model": KLEIN, field: "x"})
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert "Unknown field" in message
    assert len(message) < 300  # the field name is shortened, not echoed in full


def test_result_urls_ignore_the_host_header(local_studio: LocalStudioHandle) -> None:
    """A forged Host header does not change the address of the result the server hands out."""
    response = post(local_studio, {"prompt": "a kite", "model": KLEIN}, Host="attacker.example")
    assert response.status_code == 200, response.text
    origin = local_studio.endpoint.split("/api/", 1)[0]
    assert response.json()["image_url"].startswith(origin + "/files/")


def test_result_urls_use_the_configured_public_base_url(fresh_local_studio) -> None:
    """With public_base_url set, result URLs start with it and the same path is served by this server."""
    studio = fresh_local_studio(public_base_url="https://studio.example.org/")
    image_url = post(studio, {"prompt": "a kite", "model": KLEIN}).json()["image_url"]
    assert image_url.startswith("https://studio.example.org/files/")
    origin = studio.endpoint.split("/api/", 1)[0]
    local = requests.get(origin + urlsplit(image_url).path, timeout=TIMEOUT)
    assert local.status_code == 200
    assert local.headers["Content-Type"] == "image/png"


def test_engine_work_is_capped(fresh_local_studio, monkeypatch) -> None:
    """Six generations at once run at most two at a time (the default), and every one still succeeds."""
    watch = EngineWatch(hold_s=0.4)
    monkeypatch.setattr(engines, "render_preview", watch)
    studio = fresh_local_studio(starting_credits=100)
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(
            pool.map(lambda i: post(studio, {"prompt": f"a boat {i}", "model": KLEIN}).status_code, range(6))
        )
    assert statuses == [200] * 6
    assert watch.peak == 2


def test_work_that_waits_too_long_gets_503_and_is_not_charged(fresh_local_studio, monkeypatch) -> None:
    """With one engine slot and a short wait, the second of two parallel jobs gets 503 + Retry-After, free."""
    watch = EngineWatch(hold_s=2.0)
    monkeypatch.setattr(engines, "render_preview", watch)
    studio = fresh_local_studio(starting_credits=10, max_concurrent_jobs=1, job_wait_s=0.3)
    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(
            pool.map(lambda i: post(studio, {"prompt": f"a boat {i}", "model": KLEIN}), range(2))
        )
    assert sorted(response.status_code for response in responses) == [200, 503]
    busy = next(response for response in responses if response.status_code == 503)
    assert busy.headers["Retry-After"].isdigit()
    assert "busy" in busy.json()["error"]["message"]
    assert balance(studio) == 9
