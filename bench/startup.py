"""Startup time of `streamlit run app.py` against a one-line hello-world app, alternating in one run.

Measures, per run, the wall time from launching `streamlit run` to `/_stcore/health` answering ok,
and to the first page fully rendered in headless Chromium (script idle and its content visible).
Usage: python bench/startup.py [--runs 5] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import expect, sync_playwright

from tests.e2e.harness import (
    IDLE,
    ROOT,
    chromium_path,
    launch_chromium,
    start_streamlit,
)

HELLO = 'import streamlit as st\n\nst.write("Hello, world")\n'


def one_start(browser, script: Path, work: Path, env: dict, ready) -> tuple[float, float]:
    """Seconds from launch to health ok, and from launch to the first page rendered."""
    started = time.perf_counter()
    server = start_streamlit(script, env=env, log_path=work / f"{script.stem}.log", cwd=ROOT)
    try:
        healthy = time.perf_counter() - started
        context = browser.new_context()
        page = context.new_page()
        page.goto(server.url)
        page.locator(IDLE).wait_for(state="attached", timeout=60_000)
        ready(page)
        rendered = time.perf_counter() - started
        context.close()
    finally:
        server.stop()
    return healthy, rendered


def main() -> None:
    """Alternate app and hello-world starts and print a table of medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="starts of each app (default 5)")
    parser.add_argument("--quick", action="store_true", help="one start of each, for a smoke test")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    if chromium_path() is None:
        sys.exit("Chromium is not installed (apt-get install -y chromium)")

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp, sync_playwright() as playwright:
        work = Path(tmp)
        hello = work / "hello.py"
        hello.write_text(HELLO, encoding="utf-8")
        data_dir = work / "data"
        data_dir.mkdir()
        browser = launch_chromium(playwright)
        subjects = {
            "hello world": (hello, {}, lambda page: expect(page.get_by_text("Hello, world")).to_be_visible()),
            # No key: the app starts its own Local Studio, which is part of what a user waits for.
            "app.py (offline)": (
                ROOT / "app.py",
                {"IMAGE_STUDIO_DATA_DIR": str(data_dir)},
                lambda page: expect(page.get_by_test_id("stSidebar")).to_be_visible(timeout=60_000),
            ),
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in subjects}
        # One warm-up start each so the first measured run does not pay for a cold disk cache.
        for script, env, ready in subjects.values():
            one_start(browser, script, work, env, ready)
        for _ in range(runs):
            for name, (script, env, ready) in subjects.items():
                results[name].append(one_start(browser, script, work, env, ready))
        browser.close()

    print(f"\nstartup, {runs} run(s) each, alternating (seconds, median [min-max])")
    print(f"{'app':<18} {'to health':>22} {'to first page':>22}")
    for name, rows in results.items():
        cells = []
        for column in (0, 1):
            values = [row[column] for row in rows]
            cells.append(f"{statistics.median(values):6.2f} [{min(values):.2f}-{max(values):.2f}]")
        print(f"{name:<18} {cells[0]:>22} {cells[1]:>22}")
    app_first = statistics.median(row[1] for row in results["app.py (offline)"])
    hello_first = statistics.median(row[1] for row in results["hello world"])
    app_health = statistics.median(row[0] for row in results["app.py (offline)"])
    hello_health = statistics.median(row[0] for row in results["hello world"])
    print(
        f"ratio app/hello: to health {app_health / hello_health:.2f}x, "
        f"to first page {app_first / hello_first:.2f}x"
    )


if __name__ == "__main__":
    main()
