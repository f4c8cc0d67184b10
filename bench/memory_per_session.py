"""Memory of a `streamlit run app.py` process: one session making 100 results, then 10 sessions at once.

The app talks to a Local Studio started in this process, so the server's RSS holds only the app (the
Local Studio keeps every result it made in memory, which would otherwise swamp the figures). Sessions
are real browser tabs in headless Chromium; each result is a ~1 MP image (1:1, 1024 x 1024).
Usage: python bench/memory_per_session.py [--results 100] [--sessions 10] [--quick]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
import requests
from playwright.sync_api import expect, sync_playwright

from lib.local_studio import StudioConfig, start_local_studio
from tests.e2e import ui
from tests.e2e.harness import chromium_path, launch_chromium, open_app, start_streamlit

# Short, so closed tabs are freed within the run rather than after Streamlit's default 120 s.
SESSION_TTL_S = 5
MB = 1024 * 1024
METRICS_TTL_S = 5.2
VIEWPORT = {"width": 1400, "height": 1000}


def rss_mb(process: psutil.Process) -> float:
    """Resident memory of the server process, in MB."""
    return process.memory_info().rss / MB


def streamlit_metrics(url: str) -> dict[str, float]:
    """Streamlit's own accounting from /_stcore/metrics: bytes per cache type and active sessions."""
    text = requests.get(f"{url}/_stcore/metrics", timeout=10).text
    figures: dict[str, float] = {}
    for match in re.finditer(r'^cache_memory_bytes\{cache_type="([^"]+)",cache="[^"]*"\} (\S+)$', text, re.M):
        figures[match[1]] = figures.get(match[1], 0.0) + float(match[2])
    if active := re.search(r"^active_sessions (\S+)$", text, re.M):
        figures["active_sessions"] = float(active[1])
    return figures


def make_results(page, count: int, label: str) -> None:
    """Generate `count` results in this tab, one after the other, as a person pressing Generate would."""
    for index in range(count):
        ui.generate(page, f"{label} result {index + 1}: a lighthouse on a cliff at dusk")


def wait_for_sessions(url: str, count: int, deadline_s: float = 60.0) -> None:
    """Wait until Streamlit reports `count` active sessions."""
    deadline = time.monotonic() + deadline_s
    while streamlit_metrics(url).get("active_sessions") != count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"Streamlit never reported {count} active sessions")
        time.sleep(0.5)


def main() -> None:
    """Run the scenario and print RSS at each step, with Streamlit's own session and media accounting."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=100, help="results made by the single session")
    parser.add_argument("--sessions", type=int, default=10, help="sessions open at once in the second part")
    parser.add_argument("--per-session", type=int, default=10, help="results each of those sessions makes")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few results and sessions and no Streamlit figures: a smoke test",
    )
    args = parser.parse_args()
    if args.quick:
        args.results, args.sessions, args.per_session = 4, 2, 2
    if chromium_path() is None:
        sys.exit("Chromium is not installed (apt-get install -y chromium)")

    rows: list[tuple[str, float, dict[str, float]]] = []
    solo: list[tuple[int, float]] = []  # (results made, RSS MB) while one session works
    studio = start_local_studio(config=StudioConfig(starting_credits=10**9))
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp, sync_playwright() as playwright:
        work = Path(tmp)
        env = {
            "IMAGE_STUDIO_ENDPOINT": studio.endpoint,
            "IMAGE_STUDIO_API_KEY": studio.api_key,
            "IMAGE_STUDIO_DATA_DIR": str(work / "data"),
        }
        server = start_streamlit(
            "app.py", env=env, log_path=work / "streamlit.log",
            extra_args=(
                "--server.disconnectedSessionTTL", str(SESSION_TTL_S),
                "--server.enableExpensiveMemoryStats", "true",  # real sizes of session state, not item counts
            ),
        )  # fmt: skip
        process = psutil.Process(server.pid)
        browser = launch_chromium(playwright)

        def note(step: str) -> None:
            metrics = {}
            if not args.quick:
                time.sleep(METRICS_TTL_S)  # Streamlit caches its memory figures this long
                metrics = streamlit_metrics(server.url)
            rows.append((step, rss_mb(process), metrics))
            print(f"  {step}: {rows[-1][1]:.1f} MB", flush=True)

        try:
            note("server started, no session")
            context = browser.new_context(viewport=VIEWPORT)
            page = open_app(context, server.url)
            ui.pick_model(page, "flux-2-klein-9b")  # same 1 MP output, cheaper on a real API
            note("1 session, Generate page shown")
            seconds = 0.0
            step = max(1, args.results // 5)
            done = 0
            while done < args.results:
                batch = min(step, args.results - done)
                started = time.perf_counter()
                make_results(page, batch, f"solo {done}")
                seconds += time.perf_counter() - started
                done += batch
                note(f"1 session, {done} results")
                solo.append((done, rows[-1][1]))
            ui.go_to(page, "History")
            expect(ui.history_items(page).first).to_be_visible()
            note("1 session, History page shown")
            context.close()
            wait_for_sessions(server.url, 0)
            note(f"tab closed, session freed ({SESSION_TTL_S} s TTL)")

            contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(args.sessions)]
            pages = [open_app(tab, server.url) for tab in contexts]
            note(f"{args.sessions} sessions open, idle")
            for number, tab_page in enumerate(pages, 1):
                make_results(tab_page, args.per_session, f"tab {number}")
            note(f"{args.sessions} sessions, {args.per_session} results each")
            for tab in contexts:
                tab.close()
            wait_for_sessions(server.url, 0)
            note(f"{args.sessions} tabs closed, sessions freed")
        finally:
            browser.close()
            server.stop()
            studio.stop()

    base = rows[0][1]
    print(
        f"\nmemory of the `streamlit run app.py` process (RSS); results are ~1 MP each "
        f"({args.results} made in {seconds:.0f} s)"
    )
    print(f"{'step':<44} {'RSS MB':>8} {'vs start':>9} {'session state':>14} {'media files':>12}")
    for step, rss, metrics in rows:
        state = metrics.get("st_session_state", 0) / 1024
        media = metrics.get("st_memory_media_file_storage", 0) / 1024
        print(f"{step:<44} {rss:8.1f} {rss - base:+9.1f} {state:11.0f} KB {media:9.0f} KB")
    if len(solo) >= 2:
        (first_count, first_rss), (last_count, last_rss) = solo[0], solo[-1]
        per_result = (last_rss - first_rss) * 1024 / (last_count - first_count)
        print(f"growth from result {first_count} to {last_count} of one session: {per_result:.0f} KB/result")


if __name__ == "__main__":
    main()
