"""Running a Local Studio with uvicorn: in a background thread (app, tests) or in the foreground (CLI)."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

from lib.contract import API_PATH
from lib.local_studio.app import create_app
from lib.local_studio.config import StudioConfig

STARTUP_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0


class LocalStudioHandle(NamedTuple):
    """A running Local Studio: its API endpoint, a key it accepts, and how to stop it."""

    endpoint: str
    api_key: str
    stop: Callable[[], None]

    def __repr__(self) -> str:
        # The key may be a real one given on the command line: never print it whole.
        return f"LocalStudioHandle(endpoint={self.endpoint!r}, api_key='{self.api_key[:3]}...')"


class _QuietH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol without access logs, decided per server rather than via global loggers."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.access_log = False


def start_local_studio(
    port: int = 0, host: str = "127.0.0.1", config: StudioConfig | None = None
) -> LocalStudioHandle:
    """Serve a Local Studio from a daemon thread; returns once it accepts connections (port 0: any free)."""
    sock = bind_socket(host, port)
    try:
        config = with_public_base_url(config or StudioConfig(), host, sock.getsockname()[1])
        server = make_server(create_app(config))
    except BaseException:
        sock.close()
        raise
    # Outside the main thread uvicorn installs no signal handlers, so this is safe inside Streamlit too.
    name = f"local-studio-{sock.getsockname()[1]}"
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("The Local Studio did not start.")
        time.sleep(0.005)

    def stop() -> None:
        """Stop serving, let open requests finish briefly, and wait for the thread to end."""
        server.should_exit = True
        thread.join(STOP_TIMEOUT_S)
        if thread.is_alive():
            server.force_exit = True
            thread.join(STOP_TIMEOUT_S)
        sock.close()

    return LocalStudioHandle(endpoint_url(host, sock.getsockname()[1]), config.api_keys[0], stop)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (IPv4 or IPv6 by the host's form)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be explicit: asyncio turns on TCP_NODELAY only for sockets whose proto is IPPROTO_TCP, and
    # without it every keep-alive request waits ~40 ms on delayed ACKs (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def make_server(app: Starlette) -> uvicorn.Server:
    """A uvicorn server for the app that leaves the process's logging configuration alone."""
    config = uvicorn.Config(
        app,
        # No log_config / log_level: uvicorn would otherwise reconfigure the host process's loggers
        # (Streamlit runs on uvicorn too). Access logs are off through the protocol class instead.
        log_config=None,
        log_level=None,
        access_log=True,
        http=_QuietH11Protocol,
        ws="none",
        lifespan="off",
        loop="asyncio",
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    return uvicorn.Server(config)


def with_public_base_url(config: StudioConfig, host: str, port: int) -> StudioConfig:
    """The config, with result URLs on the bound address unless it already names a public base URL."""
    if config.public_base_url is not None:
        return config
    return dataclasses.replace(config, public_base_url=base_url(host, port))


def endpoint_url(host: str, port: int) -> str:
    """The API endpoint a client on this machine should call for a server bound to host:port."""
    return base_url(host, port) + API_PATH


def base_url(host: str, port: int) -> str:
    """The root URL ("http://host:port") a client on this machine reaches a server bound to host:port at."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"
