"""The browser benchmarks still start and print their tables (quick mode; no timings are asserted)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .harness import ROOT


@pytest.mark.parametrize(
    ("script", "table"),
    [
        ("bench/startup.py", "ratio app/hello"),
        ("bench/memory_per_session.py", "RSS MB"),
        ("bench/concurrent_users.py", "crowd p95"),
    ],
)
def test_bench_runs_in_quick_mode(browser, script: str, table: str) -> None:
    """`python <bench> --quick` exits cleanly and prints its table."""
    done = subprocess.run(
        [sys.executable, script, "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert table in done.stdout
