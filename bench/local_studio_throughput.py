"""Local Studio throughput: requests per second and latency p50/p95 with 1 and with 8 concurrent clients.

Run: python bench/local_studio_throughput.py [--quick] [--requests N] [--seconds S] [--clients 1,8]
                                            [--server-jobs 2] [--large]

The server runs in a process of its own (`python -m lib.local_studio` on the loopback), so the clients'
Python work does not share its interpreter lock. Each client is a thread with its own requests.Session
(keep-alive, as the app's client does). Actions: enhance_prompt, generate (flux-2-klein-9b, 1:1) and
background removal of a sample photo; an image request counts once its result file has been downloaded,
as a client must do before the link expires. Each cell stops at N requests or after S seconds, whichever
comes first (requests already sent finish and count). Before timing, every client opens its connection
and one untimed request warms the server's code path. The server's CPU time per request is also shown:
unlike latency, other work on the machine does not inflate it, and so is the server's peak resident memory
during the cell. `--server-jobs 2,8` runs the whole table against a server started with each
--max-concurrent-jobs value (the first is the baseline); `--large` adds a cut-out of a 2048 x 2048 photo,
where the engine cap matters for memory.
"""

from __future__ import annotations

import argparse
import io
import math
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere without installing

import psutil  # noqa: E402
import requests  # noqa: E402
from PIL import Image  # noqa: E402

from lib.images import to_data_url  # noqa: E402
from lib.local_studio import DEMO_API_KEY  # noqa: E402

MODEL = "flux-2-klein-9b"
SAMPLE = ROOT / "assets" / "samples" / "chelsea.jpg"
SUBJECTS = ("a lighthouse at dusk", "a red fox in snow", "a bowl of ramen", "a city street in rain",
            "a sailing boat at noon", "a forest path in autumn", "a cat on a windowsill")
START_TIMEOUT_S = 30.0
REQUEST_TIMEOUT = (5.0, 300.0)  # (connect, read): a queue of 8 large cut-outs on 2 cores takes a while
LARGE_SIDE = 2048
MEMORY_SAMPLE_S = 0.02

Action = Callable[[requests.Session, str, int], None]


@dataclass(frozen=True)
class Cell:
    """What one action did under one number of clients."""

    server_jobs: int
    action: str
    clients: int
    latencies: list[float]
    errors: int
    wall_s: float
    server_cpu_s: float
    peak_rss_mib: float

    @property
    def per_second(self) -> float:
        """Completed requests per second of wall time."""
        return len(self.latencies) / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        """The server's CPU time per completed request: what the work costs, whatever else runs."""
        return self.server_cpu_s * 1000 / len(self.latencies) if self.latencies else math.nan


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share 0.95 for p95) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@contextmanager
def studio_process(server_jobs: int) -> Iterator[tuple[str, psutil.Process]]:
    """A Local Studio in its own process on a free loopback port; yields its endpoint and process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "lib.local_studio", "--host", "127.0.0.1", "--port", "0",
         "--credits", str(10**12), "--max-concurrent-jobs", str(server_jobs)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        if not line.startswith("Local Studio endpoint: "):
            raise RuntimeError(f"the Local Studio did not start (it said {line!r})")
        endpoint = line.split(": ", 1)[1].strip()
        health = endpoint.split("/api/", 1)[0] + "/healthz"
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if requests.get(health, timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the Local Studio did not answer /healthz")
            time.sleep(0.05)
        yield endpoint, psutil.Process(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _post(session: requests.Session, endpoint: str, body: dict) -> dict:
    answer = session.post(endpoint, json=body, timeout=REQUEST_TIMEOUT)
    answer.raise_for_status()
    return answer.json()


def _fetch(session: requests.Session, url: str) -> None:
    image = session.get(url, timeout=REQUEST_TIMEOUT)
    image.raise_for_status()
    if not image.content.startswith(b"\x89PNG"):
        raise ValueError("the result is not a PNG")


def enhance(session: requests.Session, endpoint: str, index: int) -> None:
    """Enhance a short prompt (free; text only)."""
    reply = _post(session, endpoint, {"action": "enhance_prompt",
                                      "prompt": f"{SUBJECTS[index % len(SUBJECTS)]}, take {index}"})
    if not reply.get("enhanced_prompt"):
        raise ValueError("no enhanced prompt in the answer")


def generate(session: requests.Session, endpoint: str, index: int) -> None:
    """Generate a 1:1 preview with the fast model and download it."""
    reply = _post(session, endpoint, {"prompt": f"{SUBJECTS[index % len(SUBJECTS)]}, take {index}",
                                      "model": MODEL, "aspect_ratio": "1:1"})
    _fetch(session, reply["image_url"])


def background_removal(photo: str) -> Action:
    """Cut out the subject of a sample photo (sent as a data URL) and download the PNG."""
    def remove(session: requests.Session, endpoint: str, index: int) -> None:
        reply = _post(session, endpoint, {"prompt": "remove background", "model": MODEL,
                                          "input_image": photo})
        _fetch(session, reply["image_url"])
    return remove


def large_photo_url() -> str:
    """The sample photo stretched to LARGE_SIDE x LARGE_SIDE (4.2 MP: the engines' limit) as a data URL."""
    buffer = io.BytesIO()
    with Image.open(SAMPLE) as photo:
        photo.convert("RGB").resize((LARGE_SIDE, LARGE_SIDE)).save(buffer, format="JPEG", quality=90)
    return to_data_url(buffer.getvalue(), "image/jpeg")


@contextmanager
def peak_rss(server: psutil.Process) -> Iterator[list[int]]:
    """Sample the server's resident memory while the block runs; the list holds the peak in bytes."""
    peak = [server.memory_info().rss]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(MEMORY_SAMPLE_S):
            peak[0] = max(peak[0], server.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()


def server_cpu_s(server: psutil.Process) -> float:
    """CPU seconds the server process has used so far (all its threads, user and system)."""
    times = server.cpu_times()
    return times.user + times.system


def measure(
    action: Action, endpoint: str, server: psutil.Process, clients: int, count: int, seconds: float
) -> tuple[list[float], int, float, float, float]:
    """Run an action from `clients` threads until `count` requests or `seconds`.

    Returns the latencies, the number of failed requests, the wall seconds, the server's CPU seconds and
    its peak resident memory in MiB.
    """
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    sent = [0]
    sessions = [requests.Session() for _ in range(clients)]
    headers = {"Authorization": f"Bearer {DEMO_API_KEY}"}
    health = endpoint.split("/api/", 1)[0] + "/healthz"
    for session in sessions:
        session.headers.update(headers)
        session.get(health, timeout=REQUEST_TIMEOUT).raise_for_status()  # the keep-alive connection
    action(sessions[0], endpoint, -1)  # untimed: the server's code path and caches are warm
    ready = threading.Barrier(clients + 1)
    deadline = [math.inf]  # set when the barrier opens: from then on, nobody starts a new request late

    def client(session: requests.Session) -> None:
        ready.wait()
        while True:
            with lock:
                if sent[0] >= count or time.perf_counter() > deadline[0]:
                    return
                sent[0] += 1
                index = sent[0]
            started = time.perf_counter()
            try:
                action(session, endpoint, index)
            except (requests.RequestException, ValueError, KeyError):
                with lock:
                    errors[0] += 1
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=client, args=(session,), daemon=True) for session in sessions]
    for thread in threads:
        thread.start()
    cpu = server_cpu_s(server)
    with peak_rss(server) as peak:
        ready.wait()
        started = time.perf_counter()
        deadline[0] = started + seconds
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    cpu = server_cpu_s(server) - cpu
    for session in sessions:
        session.close()
    return latencies, errors[0], wall, cpu, peak[0] / 2**20


def print_table(cells: list[Cell], count: int, seconds: float) -> None:
    """The results, one row per action and number of clients, each compared with one client alone."""
    print(f"Local Studio throughput (own process on the loopback; each cell: {count} requests or "
          f"{seconds:g} s, whichever first; one requests.Session per client thread)")
    header = (f"{'jobs':>4} {'action':<22} {'clients':>7} {'done':>5} {'errors':>6} {'wall s':>7} "
              f"{'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'req/s vs 1':>11} {'p50 vs 1':>9} "
              f"{'server CPU ms/req':>18} {'peak MiB':>9}")
    print(header)
    print("-" * len(header))
    alone: dict[tuple[int, str], Cell] = {}
    for cell in cells:
        if cell.clients == 1:
            alone[cell.server_jobs, cell.action] = cell
        if cell.latencies:
            p50 = statistics.median(cell.latencies) * 1000
            p95 = percentile(cell.latencies, 0.95) * 1000
            base = alone.get((cell.server_jobs, cell.action))
            speedup = cell.per_second / base.per_second if base and base.per_second else math.nan
            base_p50 = statistics.median(base.latencies) * 1000 if base and base.latencies else math.nan
            slower = p50 / base_p50
            timings = f"{p50:>8.1f} {p95:>8.1f} {speedup:>10.2f}x {slower:>8.2f}x"
        else:
            timings = f"{'-':>8} {'-':>8} {'-':>11} {'-':>9}"
        print(f"{cell.server_jobs:>4} {cell.action:<22} {cell.clients:>7} {len(cell.latencies):>5} "
              f"{cell.errors:>6} {cell.wall_s:>7.2f} {cell.per_second:>7.2f} {timings} "
              f"{cell.cpu_ms_per_request:>18.1f} {cell.peak_rss_mib:>9.0f}")


def main() -> int:
    """Start a Local Studio, load it with each action at 1 and 8 clients, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per cell at most (default 200)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per cell at most (default 10)")
    parser.add_argument("--clients", default="1,8", help="numbers of concurrent clients (default 1,8)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 2 requests or 0.5 s per cell")
    parser.add_argument("--server-jobs", default="2",
                        help="the server's --max-concurrent-jobs, one table part each (default 2)")
    parser.add_argument("--large", action="store_true", help=f"add a {LARGE_SIDE} x {LARGE_SIDE} cut-out")
    args = parser.parse_args()
    count, seconds = (2, 0.5) if args.quick else (args.requests, args.seconds)
    levels = sorted({int(number) for number in args.clients.split(",")} | {1})  # 1 is the baseline
    actions: dict[str, Action] = {
        "enhance_prompt": enhance,
        "generate klein 1:1": generate,
        f"remove bg {SAMPLE.stem}": background_removal(to_data_url(SAMPLE.read_bytes(), "image/jpeg")),
    }
    if args.large:
        actions[f"remove bg {LARGE_SIDE}x{LARGE_SIDE}"] = background_removal(large_photo_url())
    cells: list[Cell] = []
    for server_jobs in [int(number) for number in args.server_jobs.split(",")]:
        with studio_process(server_jobs) as (endpoint, server):
            for name, action in actions.items():
                for clients in levels:
                    result = measure(action, endpoint, server, clients, count, seconds)
                    cells.append(Cell(server_jobs, name, clients, *result))
    print_table(cells, count, seconds)
    failed = sum(cell.errors for cell in cells)
    if failed:
        print(f"{failed} request(s) failed: the figures above leave them out")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
