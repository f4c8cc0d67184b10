"""What team mode costs: the budget check per paid call, and the sign-in round trip in a real browser.

1. Budget: reserve + settle in the SQLite ledger against nothing (no budget), alone and around a real
   generate call to an in-process Local Studio (flux-2-klein-9b), alternating so drift hits both alike;
   also 8 threads reserving at once (the lock they share is the cost under contention).
2. Sign-in: from opening the app signed out to the app's sidebar saying who you are, through
   oidc-provider-mock on localhost (click Sign in, authorize at the provider, the callback, the first run).

    python bench/budget_check.py             # 2,000 ledger calls, 40 generate calls, 5 sign-ins
    python bench/budget_check.py --quick     # a smoke test
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from lib.budget import CreditBudget, PersonalBudget, charged  # noqa: E402
from lib.client import ImageStudioClient  # noqa: E402
from lib.local_studio import StudioConfig, start_local_studio  # noqa: E402
from lib.store import HistoryStore  # noqa: E402
from lib.team import person_key  # noqa: E402
from lib.workspace import Workspace  # noqa: E402

MODEL = "flux-2-klein-9b"
PERSON = person_key("http://localhost", "bench")


def timed(action: Callable[[], object], runs: int) -> list[float]:
    """Wall times of `runs` calls, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def ledger_costs(folder: Path, runs: int) -> tuple[list[float], list[float], float]:
    """Per-call seconds of an empty charge and of reserve + settle, and calls/s with 8 threads at once."""
    budget = PersonalBudget(CreditBudget(folder, daily_limit=0), PERSON, "bench@example.com")

    def unlimited() -> None:
        with charged(None, 1) as charge:
            charge.actual = 1

    def reserved() -> None:
        with charged(budget, 1) as charge:
            charge.actual = 1

    timed(reserved, 20)  # warm up: schema, connection, page cache
    nothing, check = [], []
    for _ in range(runs // 100 or 1):
        nothing += timed(unlimited, 100)
        check += timed(reserved, 100)

    per_thread = max(10, runs // 8)
    start = threading.Barrier(8)

    def crowd() -> None:
        start.wait()
        for _ in range(per_thread):
            reserved()

    threads = [threading.Thread(target=crowd) for _ in range(8)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return nothing, check, 8 * per_thread / (time.perf_counter() - began)


def generate_costs(folder: Path, runs: int) -> tuple[list[float], list[float]]:
    """Seconds per generate call without a budget and with one, alternating."""
    studio = start_local_studio(config=StudioConfig(starting_credits=10**9))
    try:
        client = ImageStudioClient(studio.api_key, studio.endpoint, timeout=120)
        store = HistoryStore(folder / "history")
        budget = PersonalBudget(CreditBudget(folder, daily_limit=0), PERSON)
        plain = Workspace(client, store, PERSON)
        limited = Workspace(client, store, PERSON, budget=budget)
        plain.generate("a lighthouse at dusk, warm-up", model=MODEL, aspect_ratio="1:1")
        without, with_budget = [], []
        for index in range(runs):
            prompt = f"a lighthouse at dusk, take {index}"
            pair = [(plain, without), (limited, with_budget)]
            for workspace, times in pair if index % 2 else reversed(pair):
                started = time.perf_counter()
                workspace.generate(prompt, model=MODEL, aspect_ratio="1:1")
                times.append(time.perf_counter() - started)
        client.close()
        return without, with_budget
    finally:
        studio.stop()


def sign_in_times(folder: Path, runs: int) -> list[float]:
    """Seconds from opening the app signed out to its sidebar naming the person, `runs` times."""
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.harness import chromium_path, launch_chromium, start_streamlit
    from tests.oidc_provider import person, running_provider, write_secrets

    if chromium_path() is None:
        raise SystemExit("Chromium is not installed (apt-get install -y chromium): sign-in needs a browser")
    folder.mkdir(parents=True, exist_ok=True)
    times = []
    with running_provider([person("bench", "bench@example.com", "Bench")]) as provider:
        secrets = write_secrets(folder, provider, team={}, settings={"IMAGE_STUDIO_DATA_DIR": str(folder)})
        server = start_streamlit("app.py", env={}, log_path=folder / "streamlit.log",
                                 extra_args=("--secrets.files", str(secrets)))
        url = server.url.replace("127.0.0.1", "localhost")
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                for _ in range(runs + 1):  # the first one warms the server up and is not counted
                    context = browser.new_context()
                    page = context.new_page()
                    page.set_default_timeout(60_000)
                    started = time.perf_counter()
                    page.goto(url)
                    page.get_by_role("button", name="Sign in").click()
                    page.get_by_placeholder("sub").fill("bench")
                    page.get_by_role("button", name="Authorize").click()
                    expect(page.get_by_text(re.compile(r"^Signed in as Bench"))).to_be_visible(timeout=60_000)
                    times.append(time.perf_counter() - started)
                    context.close()
                browser.close()
        finally:
            server.stop()
    return times[1:]


def ms(values: list[float]) -> str:
    """Median and p95 in milliseconds."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{statistics.median(values) * 1000:9.3f} {p95 * 1000:9.3f}"


def main() -> int:
    """Run the three measurements and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ledger", type=int, default=2000, help="ledger calls of each kind (default 2000)")
    parser.add_argument("--calls", type=int, default=40, help="generate calls of each kind (default 40)")
    parser.add_argument("--sign-ins", type=int, default=5, help="timed sign-ins (default 5)")
    parser.add_argument("--quick", action="store_true", help="smoke test: few calls, one sign-in")
    args = parser.parse_args()
    ledger_runs, calls, sign_ins = (100, 3, 1) if args.quick else (args.ledger, args.calls, args.sign_ins)

    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        nothing, check, crowd_rate = ledger_costs(folder / "ledger", ledger_runs)
        without, with_budget = generate_costs(folder / "generate", calls)
        signing_in = sign_in_times(folder / "sign_in", sign_ins)

    overhead = statistics.median(with_budget) - statistics.median(without)
    print(f"\nteam mode costs (ms, median and p95; {ledger_runs} ledger calls, {calls} generate calls each, "
          f"{sign_ins} sign-in(s))")
    print(f"{'what':<44} {'median ms':>9} {'p95 ms':>9}")
    print(f"{'paid call, no budget (empty charge)':<44} {ms(nothing)}")
    print(f"{'paid call, budget check (reserve + settle)':<44} {ms(check)}")
    print(f"{'generate ' + MODEL + ', no budget':<44} {ms(without)}")
    print(f"{'generate ' + MODEL + ', with budget':<44} {ms(with_budget)}")
    print(f"{'sign-in round trip (signed out -> signed in)':<44} {ms(signing_in)}")
    print(f"\nbudget check per paid call: {statistics.median(check) * 1000:.3f} ms "
          f"({overhead * 1000:+.1f} ms on a generate call's median, "
          f"{overhead / statistics.median(without):+.1%}); 8 threads at once: {crowd_rate:,.0f} checks/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
