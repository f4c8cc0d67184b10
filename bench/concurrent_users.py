"""Step latency when 20 people press Generate and then open History at once, against one person alone.

Every user is a browser context (its own Streamlit session) on one `streamlit run app.py` with no key,
so the app runs its own Local Studio, as on a demo laptop; results are ~1 MP (1:1). All tabs are opened
first, one by one; then they all type a prompt, and Generate -> History runs in every tab at the same
moment. A lone user does the same steps several times first, as the baseline. The browser shares the
machine with the server, so the CPU line tells how much of the time the app itself used.
Usage: python bench/concurrent_users.py [--users 20] [--solo-runs 5] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.e2e.harness import CHROMIUM_ARGS, IDLE, chromium_path, running_app

STEPS = ("generate", "open History")
TIMEOUT_MS = 180_000  # 20 users on 2 cores queue for a while; a step that never finishes still fails
GENERATE = re.compile(r"^Generate(\s+Shortcut\b.*)?$")


async def idle(page: Page) -> None:
    """Wait until the app's script has finished its run."""
    await page.locator(IDLE).wait_for(state="attached", timeout=TIMEOUT_MS)


async def open_tab(browser: Browser, url: str, name: str) -> tuple[BrowserContext, Page, float]:
    """A new person on the app with a prompt typed in; seconds until the Generate page was ready."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    main = page.get_by_test_id("stMain")
    started = time.perf_counter()
    await page.goto(url)
    await idle(page)
    box = main.get_by_role("textbox", name="Prompt", exact=True)
    await expect(box).to_be_visible(timeout=TIMEOUT_MS)
    opened = time.perf_counter() - started
    prompt = f"{name}: a lighthouse on a cliff at dusk, warm light in the windows"
    await box.fill(prompt)
    await box.blur()
    await expect(main.get_by_text(re.compile(rf"^{len(prompt)} / 10,000 characters"))).to_be_visible()
    await idle(page)
    return context, page, opened


async def generate_then_history(page: Page, name: str) -> dict[str, float]:
    """Press Generate, wait for the image; open History, wait for the gallery: seconds per step."""
    main = page.get_by_test_id("stMain")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    await main.get_by_role("button", name=GENERATE).click()
    await expect(main.get_by_test_id("stCaptionContainer").filter(has_text=f"{name}:").first).to_be_visible()
    await idle(page)
    timings["generate"] = time.perf_counter() - started

    started = time.perf_counter()
    await page.get_by_test_id("stSidebar").get_by_role("link", name="History", exact=True).click()
    await expect(main.get_by_role("button", name="Reuse", exact=True).first).to_be_visible()
    await idle(page)
    timings["open History"] = time.perf_counter() - started
    return timings


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def cpu_seconds(server: psutil.Process) -> tuple[float, float, float]:
    """CPU seconds used so far by the server process, by the browser (our child processes), by the machine."""
    browser = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        browser += times.user + times.system
    own, machine = server.cpu_times(), psutil.cpu_times()
    return own.user + own.system, browser, machine.user + machine.system + machine.nice


async def run(users: int, solo_runs: int, url: str, server: psutil.Process) -> dict:
    """The solo baseline, then all users at once: their timings, and the crowd's wall and CPU time."""
    expect.set_options(timeout=TIMEOUT_MS)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        solo, opened = [], []
        # The first run of each page pays for imports, which no later user does: a warm-up, not measured.
        for index in range(solo_runs + 1):
            context, page, seconds = await open_tab(browser, url, f"solo {index}")
            timings = await generate_then_history(page, f"solo {index}")
            await context.close()
            if index:
                solo.append(timings)
                opened.append(seconds)

        tabs = [await open_tab(browser, url, f"user {index}") for index in range(users)]
        cpu_before = cpu_seconds(server)
        started = time.perf_counter()
        crowd = await asyncio.gather(
            *(generate_then_history(page, f"user {index}") for index, (_, page, _) in enumerate(tabs))
        )
        wall = time.perf_counter() - started
        cpu_after = cpu_seconds(server)
        for context, _, _ in tabs:
            await context.close()
        await browser.close()
    return {
        "solo": solo,
        "crowd": list(crowd),
        "open_alone": opened,
        "open_with_others": [seconds for _, _, seconds in tabs],
        "wall": wall,
        "server_cpu": cpu_after[0] - cpu_before[0],
        "browser_cpu": cpu_after[1] - cpu_before[1],
        "machine_cpu": cpu_after[2] - cpu_before[2],
    }


def main() -> None:
    """Run both scenarios against one `streamlit run app.py` and print p50/p95 per step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20, help="people at once (default 20)")
    parser.add_argument("--solo-runs", type=int, default=5, help="runs of the lone user (default 5)")
    parser.add_argument("--quick", action="store_true", help="3 users and 1 solo run, for a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.users, args.solo_runs = 3, 1
    if chromium_path() is None:
        sys.exit("Chromium is not installed (apt-get install -y chromium)")

    with tempfile.TemporaryDirectory(prefix="bench-users-") as tmp, running_app(Path(tmp)) as server:
        measured = asyncio.run(run(args.users, args.solo_runs, server.url, psutil.Process(server.pid)))

    print(f"\nstep latency, seconds: 1 user alone ({args.solo_runs} runs) vs {args.users} users at once")
    columns = ("alone p50", "alone p95", "crowd p50", "crowd p95", "p50 ratio")
    print(f"{'step':<14} " + " ".join(f"{column:>10}" for column in columns))
    for step in STEPS:
        alone = [timing[step] for timing in measured["solo"]]
        together = [timing[step] for timing in measured["crowd"]]
        print(
            f"{step:<14} {percentile(alone, 0.5):10.2f} {percentile(alone, 0.95):10.2f} "
            f"{percentile(together, 0.5):10.2f} {percentile(together, 0.95):10.2f} "
            f"{statistics.median(together) / statistics.median(alone):9.1f}x"
        )
    wall, cores = measured["wall"], psutil.cpu_count()
    print(f"all {args.users} users had their image and History in {wall:.1f} s")
    print(
        f"CPU meanwhile: streamlit server {measured['server_cpu']:.1f} s, "
        f"browser {measured['browser_cpu']:.1f} s, whole machine {measured['machine_cpu']:.1f} s, "
        f"of {cores * wall:.0f} s on {cores} cores"
    )
    print(
        f"opening a tab (one at a time, with the other sessions idle): p50 "
        f"{statistics.median(measured['open_with_others']):.2f} s with up to {args.users} sessions, "
        f"{statistics.median(measured['open_alone']):.2f} s alone"
    )


if __name__ == "__main__":
    main()
