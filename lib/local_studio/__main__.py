"""Command line: `python -m lib.local_studio --port 8765` serves a Local Studio until Ctrl+C."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os

from lib.local_studio.app import create_app
from lib.local_studio.config import DEMO_API_KEY, StudioConfig
from lib.local_studio.image_urls import ANY_NETWORK
from lib.local_studio.runner import bind_socket, endpoint_url, make_server, with_public_base_url


def main(argv: list[str] | None = None) -> int:
    """Parse the options, print the endpoint and key, and serve in the foreground."""
    parser = argparse.ArgumentParser(
        prog="python -m lib.local_studio", description="Serve the Local Studio, an offline Image Studio API."
    )
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    parser.add_argument("--credits", type=int, default=1000, help="starting credits of every account")
    parser.add_argument(
        "--key", action="append", default=[], help="an sk_ API key to accept (repeatable; default: demo key)"
    )
    parser.add_argument(
        "--jwt-secret",
        default=os.environ.get("LOCAL_STUDIO_JWT_SECRET"),
        help="accept HS256 JWTs signed with this secret (or set LOCAL_STUDIO_JWT_SECRET)",
    )
    parser.add_argument(
        "--public-url",
        help="root URL of result image links, e.g. https://studio.example.org (default: the bound address)",
    )
    parser.add_argument(
        "--allow-private-image-urls",
        action="store_true",
        help="let input-image URLs reach loopback and private networks (tests only; never cloud metadata)",
    )
    parser.add_argument(
        "--max-concurrent-jobs",
        type=int,
        default=StudioConfig.max_concurrent_jobs,
        help="engine jobs run at once; others wait in line (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        keys = tuple(args.key) or (DEMO_API_KEY,)
        sock = bind_socket(args.host, args.port)
        config = with_public_base_url(
            StudioConfig(
                api_keys=keys,
                jwt_secret=args.jwt_secret,
                starting_credits=args.credits,
                public_base_url=args.public_url,
                private_image_networks=ANY_NETWORK if args.allow_private_image_urls else (),
                max_concurrent_jobs=args.max_concurrent_jobs,
            ),
            args.host,
            sock.getsockname()[1],
        )
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    server = make_server(create_app(config))
    key = config.api_keys[0]
    # A key the user typed is theirs already; only the public demo key is printed in full.
    shown_key = key if key == DEMO_API_KEY else key[:6] + "..." + " (the first --key)"
    print(f"Local Studio endpoint: {endpoint_url(args.host, sock.getsockname()[1])}", flush=True)
    print(f"API key: {shown_key}", flush=True)
    print("Press Ctrl+C to stop.", flush=True)
    # In the main thread uvicorn catches Ctrl+C, shuts down gracefully, then re-raises the interrupt.
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
