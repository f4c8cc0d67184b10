"""Input images by URL: the Local Studio fetches only public addresses, hop by hop, under one deadline."""

from __future__ import annotations

import io
import ipaddress
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from PIL import Image

from lib.local_studio import LocalStudioHandle, StudioConfig, start_local_studio
from lib.local_studio.image_urls import ANY_NETWORK, is_reachable

KLEIN = "flux-2-klein-9b"
TIMEOUT = 60
DRIP_BYTES = 40  # at DRIP_INTERVAL_S each: 8 s in all, far past the 1 s deadline these tests set
DRIP_INTERVAL_S = 0.2


def png_bytes() -> bytes:
    """A 96 x 96 PNG, big enough for every engine."""
    buffer = io.BytesIO()
    Image.new("RGB", (96, 96), (30, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


class ImageServer:
    """A real HTTP server on a loopback address: /image.png, /to?url=... (302), /loop, /drip-*, /huge."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.hits: list[str] = []
        self.drip_sent = 0
        self.drip_cut = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass  # quiet test output

            def do_GET(self) -> None:
                owner.hits.append(self.path)
                path, _, query = self.path.partition("?")
                if path == "/image.png":
                    self._send(200, png_bytes(), "image/png")
                elif path == "/to":
                    self.send_response(302)
                    self.send_header("Location", query.removeprefix("url="))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif path == "/loop":
                    self.send_response(302)
                    self.send_header("Location", "/loop")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif path == "/huge":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.send_header("Content-Length", str(11 * 1024 * 1024))
                    self.end_headers()
                elif path == "/drip-body":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.send_header("Content-Length", str(DRIP_BYTES))
                    self.end_headers()
                    self._drip(b"x" * DRIP_BYTES)
                elif path == "/drip-headers":
                    self._drip(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * DRIP_BYTES)
                else:
                    self._send(404, b"not here", "text/plain")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _drip(self, data: bytes) -> None:
                try:
                    for byte in data:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        owner.drip_sent += 1
                        time.sleep(DRIP_INTERVAL_S)
                except OSError:
                    owner.drip_cut.set()  # the Local Studio hung up on us

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.origin = f"http://{host}:{self._server.server_address[1]}"
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ImageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def image_server() -> Iterator[ImageServer]:
    """An image server on 127.0.0.1."""
    with ImageServer() as server:
        yield server


@pytest.fixture(scope="module")
def default_studio() -> Iterator[LocalStudioHandle]:
    """A Local Studio with default settings: no private network opted in."""
    handle = start_local_studio(config=StudioConfig(starting_credits=1000))
    yield handle
    handle.stop()


def edit_with(studio: LocalStudioHandle, url: str) -> requests.Response:
    """Ask for an edit of the image at url."""
    body = {"prompt": "make it warmer", "model": KLEIN, "input_image": url}
    headers = {"Authorization": f"Bearer {studio.api_key}"}
    return requests.post(studio.endpoint, json=body, headers=headers, timeout=TIMEOUT)


def error_message(response: requests.Response) -> str:
    """The message of a JSON error answer."""
    return response.json()["error"]["message"]


def test_local_image_server_is_refused_by_default(default_studio: LocalStudioHandle, image_server) -> None:
    """A URL on this machine is a 400 in plain words, and the Local Studio never connects to it."""
    response = edit_with(default_studio, image_server.origin + "/image.png")
    assert response.status_code == 400
    assert "private, local or reserved" in error_message(response)
    assert "data URL" in error_message(response)
    assert image_server.hits == []


def test_local_image_server_is_fetched_with_the_opt_in(fresh_local_studio, image_server) -> None:
    """With loopback opted in (as tests and labs may), the same URL is fetched and edited."""
    studio = fresh_local_studio(private_image_networks=("127.0.0.0/8",))
    response = edit_with(studio, image_server.origin + "/image.png")
    assert response.status_code == 200, response.text
    assert response.json()["engine"] == "local-edit"
    assert image_server.hits == ["/image.png"]


@pytest.mark.parametrize(
    ("case", "host"),
    [
        ("localhost", "localhost"),
        ("decimal", "2130706433"),
        ("octal", "0177.0.0.1"),
        ("short form", "127.1"),
        ("IPv6 loopback", "[::1]"),
        ("IPv4-mapped IPv6", "[::ffff:127.0.0.1]"),
        ("unspecified", "0.0.0.0"),
    ],
)
def test_tricky_spellings_of_this_machine_are_refused(
    default_studio: LocalStudioHandle, image_server, case: str, host: str
) -> None:
    """Every spelling the resolver turns into a loopback address is refused before connecting."""
    response = edit_with(default_studio, f"http://{host}:{image_server.port}/image.png")
    assert response.status_code == 400, case
    assert "private, local or reserved" in error_message(response), case
    assert image_server.hits == [], case


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://10.0.0.1/a.png"],
)
def test_metadata_and_private_addresses_are_refused(default_studio: LocalStudioHandle, url: str) -> None:
    """Cloud metadata and private-network addresses get the same plain 400."""
    response = edit_with(default_studio, url)
    assert response.status_code == 400
    assert "private, local or reserved" in error_message(response)


@pytest.mark.parametrize(
    ("address", "reachable"),
    [
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("169.254.169.254", False),
        ("224.0.0.1", False),  # multicast, which Python counts as global
        ("240.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),
        ("ff02::1", False),
        ("::ffff:10.0.0.1", False),  # IPv4-mapped
        ("2002:7f00:1::", False),  # 6to4 wrapping 127.0.0.1, which Python counts as global
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # Teredo with client 127.0.0.1
    ],
)
def test_address_rules(address: str, reachable: bool) -> None:
    """Only public unicast addresses are reachable, including what an IPv6 address wraps."""
    assert is_reachable(ipaddress.ip_address(address)) is reachable


def test_metadata_stays_refused_even_with_every_network_opted_in() -> None:
    """The opt-in for private networks never opens cloud metadata, in IPv4 or IPv6 form."""
    everything = tuple(ipaddress.ip_network(network) for network in ANY_NETWORK)
    assert is_reachable(ipaddress.ip_address("127.0.0.1"), everything)
    for metadata in ("169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254"):
        assert not is_reachable(ipaddress.ip_address(metadata), everything), metadata


def test_redirect_to_this_machine_is_refused(fresh_local_studio) -> None:
    """A URL on an allowed host that redirects to 127.0.0.1 is refused, and 127.0.0.1 is never asked."""
    with ImageServer("127.0.0.2") as allowed, ImageServer("127.0.0.1") as target:
        # Only 127.0.0.2 is opted in: it stands for a public server.
        studio = fresh_local_studio(private_image_networks=("127.0.0.2/32",))
        same_host = edit_with(studio, f"{allowed.origin}/to?url=/image.png")
        assert same_host.status_code == 200, same_host.text  # redirects are followed...
        response = edit_with(studio, f"{allowed.origin}/to?url={target.origin}/image.png")
        assert response.status_code == 400  # ...but each hop is checked again
        assert "private, local or reserved" in error_message(response)
        assert target.hits == []


def test_endless_redirects_stop(fresh_local_studio, image_server) -> None:
    """A URL that redirects forever is a 400 after a few hops, not a hung worker."""
    studio = fresh_local_studio(private_image_networks=("127.0.0.0/8",))
    response = edit_with(studio, image_server.origin + "/loop")
    assert response.status_code == 400
    assert "redirected more than 3 times" in error_message(response)
    assert len(image_server.hits) == 4


@pytest.mark.parametrize("path", ["/drip-body", "/drip-headers"])
def test_a_dripping_server_is_cut_off_at_the_deadline(fresh_local_studio, image_server, path: str) -> None:
    """A server sending a byte at a time is cut at the one overall deadline, headers or body alike."""
    studio = fresh_local_studio(private_image_networks=("127.0.0.0/8",), image_fetch_deadline_s=1.0)
    response = edit_with(studio, image_server.origin + path)
    assert response.status_code == 400
    assert "took longer than 1 seconds" in error_message(response)
    assert image_server.drip_cut.wait(5), "the Local Studio kept the connection open"
    assert image_server.drip_sent < DRIP_BYTES


def test_an_image_declared_over_10_mib_is_refused_unread(fresh_local_studio, image_server) -> None:
    """A response declaring more than 10 MiB is refused from its Content-Length."""
    studio = fresh_local_studio(private_image_networks=("127.0.0.0/8",))
    response = edit_with(studio, image_server.origin + "/huge")
    assert response.status_code == 400
    assert "larger than 10 MiB" in error_message(response)


def test_urls_with_credentials_or_other_schemes_are_refused(default_studio: LocalStudioHandle) -> None:
    """user:password@ URLs and URLs without a host are refused with a plain message, before any lookup."""
    cases = {"http://user:secret@example.com/a.png": "user name or password", "https:///a.png": "host name"}
    for url, words in cases.items():
        response = edit_with(default_studio, url)
        assert response.status_code == 400, url
        assert words in error_message(response), url
        assert "secret" not in response.text
