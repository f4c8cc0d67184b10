"""Fetching an input image given by URL without letting the URL reach this machine or its private network."""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import certifi

from lib.contract import MAX_BODY_BYTES

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_REDIRECTS = 3
# Every network: what `--allow-private-image-urls` opts in to (cloud metadata stays refused even then).
ANY_NETWORK: tuple[str, ...] = ("0.0.0.0/0", "::/0")

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK_BYTES = 64 * 1024
_CONNECT_TIMEOUT_S = 5.0
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class ImageUrlError(ValueError):
    """An image URL that was refused or could not be fetched; the message is plain and safe to show."""


@dataclass(frozen=True)
class ImageFetchPolicy:
    """Where image URLs may lead (public addresses, plus networks opted in), how long and big a fetch is."""

    private_networks: tuple[Network, ...] = ()
    deadline_s: float = 20.0
    max_bytes: int = MAX_BODY_BYTES

    @classmethod
    def allowing(cls, networks: Iterable[str], deadline_s: float) -> ImageFetchPolicy:
        """A policy from CIDR strings (e.g. "127.0.0.0/8") opted in besides the public internet."""
        return cls(tuple(ipaddress.ip_network(network) for network in networks), deadline_s)


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str


def fetch_image_bytes(url: str, policy: ImageFetchPolicy) -> bytes:
    """The bytes at an http(s) URL, following up to 3 redirects, each hop checked and pinned; one deadline."""
    deadline = time.monotonic() + policy.deadline_s
    for _ in range(MAX_REDIRECTS + 1):
        target = _target(url)
        addresses = _checked_addresses(target, policy)
        status, location, data = _get(target, addresses, deadline, policy)
        if status in _REDIRECT_STATUSES:
            if not location:
                raise ImageUrlError(f"the image URL answered HTTP {status} without saying where to go.")
            url = urljoin(url, location)
            continue
        if status != 200:
            raise ImageUrlError(f"the image URL answered HTTP {status}.")
        return data
    raise ImageUrlError(f"the image URL redirected more than {MAX_REDIRECTS} times.")


def is_reachable(address: IPAddress, private_networks: tuple[Network, ...] = ()) -> bool:
    """True when a fetch may connect to this address: public, or inside a network opted in, never metadata."""
    embedded = _embedded_ipv4(address)
    if address in _METADATA_ADDRESSES or embedded in _METADATA_ADDRESSES:
        return False
    if any(address.version == network.version and address in network for network in private_networks):
        return True
    return all(
        candidate.is_global and not candidate.is_multicast and not candidate.is_reserved
        for candidate in (address, embedded)
        if candidate is not None
    )


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), which is where packets end up."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(address.packed[-4:])
    return None


def _target(url: str) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ImageUrlError("the image URL is not a valid address.") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ImageUrlError("the image URL must be an http:// or https:// address with a host name.")
    if parts.username is not None or parts.password is not None:
        raise ImageUrlError("the image URL must not carry a user name or password.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(scheme, parts.hostname, port or (443 if scheme == "https" else 80), path)


def _checked_addresses(target: _Target, policy: ImageFetchPolicy) -> list[tuple[socket.AddressFamily, tuple]]:
    """Every address the host name resolves to, all of them allowed (one bad answer refuses the URL)."""
    try:
        # The resolver turns decimal and octal forms (2130706433, 0177.0.0.1) into the address they mean.
        found = socket.getaddrinfo(
            target.host, target.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (OSError, UnicodeError) as exc:
        raise ImageUrlError("the image URL's host name could not be found.") from exc
    addresses: list[tuple[socket.AddressFamily, tuple]] = []
    for family, _, _, _, sockaddr in found:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if not is_reachable(address, policy.private_networks):
            raise ImageUrlError(
                "the image URL points at a private, local or reserved network address, which the Local "
                "Studio does not fetch from: give a public image URL or send the image itself (a data URL)."
            )
        addresses.append((family, sockaddr))
    if not addresses:
        raise ImageUrlError("the image URL's host name could not be found.")
    return addresses


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to an address checked beforehand, never to what the name resolves to later."""

    def __init__(
        self, target: _Target, family: socket.AddressFamily, sockaddr: tuple, timeout: float
    ) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.default_port = 443 if target.scheme == "https" else 80  # so the Host header omits it
        self._tls = target.scheme == "https"
        self._family = family
        self._sockaddr = sockaddr
        self._cut = threading.Event()
        self._cut_lock = threading.Lock()
        # Our own reference: http.client drops self.sock once a response that closes the connection owns it.
        self._live_socket: socket.socket | None = None

    def connect(self) -> None:
        """Connect to the pinned address; for https, verify the certificate against the host name."""
        sock = socket.socket(self._family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        with self._cut_lock:
            self.sock = self._live_socket = sock
        sock.settimeout(min(self.timeout or _CONNECT_TIMEOUT_S, _CONNECT_TIMEOUT_S))
        sock.connect(self._sockaddr)
        sock.settimeout(self.timeout)
        if self._tls:
            context = ssl.create_default_context(cafile=certifi.where())
            tls_sock = context.wrap_socket(sock, server_hostname=self.host)
            with self._cut_lock:
                self.sock = self._live_socket = tls_sock

    def cut(self) -> None:
        """Shut the socket down from another thread, so that a blocked read returns at once."""
        with self._cut_lock:
            self._cut.set()
            if self._live_socket is not None:
                # socket.socket's own shutdown: TLS sockets would otherwise drop their state mid-read.
                # An OSError means it is closed already: nothing left to cut.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(self._live_socket, socket.SHUT_RDWR)

    @property
    def was_cut(self) -> bool:
        """True when the deadline cut this connection."""
        return self._cut.is_set()


def _get(
    target: _Target,
    addresses: list[tuple[socket.AddressFamily, tuple]],
    deadline: float,
    policy: ImageFetchPolicy,
) -> tuple[int, str | None, bytes]:
    """One GET: (status, Location, body); the body only for a 200, read until the size cap or the deadline."""
    too_slow = ImageUrlError(f"the image URL took longer than {policy.deadline_s:g} seconds to download.")
    failure: Exception | None = None
    for family, sockaddr in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise too_slow
        connection = _PinnedConnection(target, family, sockaddr, timeout=remaining)
        # One timer for the whole exchange: per-read timeouts alone let a server drip a byte a second forever.
        watchdog = threading.Timer(remaining, connection.cut)
        watchdog.daemon = True
        watchdog.start()
        try:
            return _exchange(connection, target, policy)
        except (OSError, http.client.HTTPException) as exc:
            if connection.was_cut:
                raise too_slow from exc
            failure = exc
        finally:
            watchdog.cancel()
            connection.close()
    # The URL is not repeated: signed URLs carry credentials of their own.
    reason = failure.__class__.__name__ if failure else "no address answered"
    raise ImageUrlError(f"the image URL could not be fetched ({reason}).") from failure


def _exchange(
    connection: _PinnedConnection, target: _Target, policy: ImageFetchPolicy
) -> tuple[int, str | None, bytes]:
    connection.request(
        "GET",
        target.path,
        headers={"Accept": "image/*", "Accept-Encoding": "identity", "User-Agent": "LocalStudio"},
    )
    # The response holds its own reference to the socket: it must be closed too, or the socket stays open.
    with contextlib.closing(connection.getresponse()) as response:
        if response.status != 200:
            return response.status, response.getheader("Location"), b""
        declared = response.getheader("Content-Length")
        if declared is not None and declared.strip().isdigit() and int(declared) > policy.max_bytes:
            raise _too_big(policy)
        chunks: list[bytes] = []
        size = 0
        while chunk := response.read1(_CHUNK_BYTES):
            size += len(chunk)
            if size > policy.max_bytes:
                raise _too_big(policy)
            chunks.append(chunk)
    if connection.was_cut:  # a cut socket reads as a clean end of the body
        raise OSError("cut at the deadline")
    return 200, None, b"".join(chunks)


def _too_big(policy: ImageFetchPolicy) -> ImageUrlError:
    return ImageUrlError(f"the image at the URL is larger than {policy.max_bytes // (1024 * 1024)} MiB.")
