"""Every benchmark still starts and prints its table in quick mode (no timings are asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import chromium_path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"

# Each benchmark, a few words of its table's header, and whether it drives a browser.
BENCHMARKS: dict[str, tuple[tuple[str, ...], bool]] = {
    "client_overhead.py": (("ratio of medians",), False),
    "history_scale.py": (("count+page1 ms", "x empty"), False),
    "local_studio_throughput.py": (("req/s", "p95 ms"), False),
    "engines_speed.py": (("s/MP",), False),
    "bg_quality.py": (("IoU",), False),
    "batch_generation.py": (("workspace s", "page s"), False),
    "startup.py": (("ratio app/hello",), True),
    "memory_per_session.py": (("RSS MB",), True),
    "concurrent_users.py": (("crowd p95",), True),
    "budget_check.py": (("budget check per paid call", "sign-in round trip"), True),
    "bulk_cutouts.py": (("x one photo",), False),
    "shared_mode.py": (("count+page1", "SeaweedFS/disk p95"), False),
    "jobs_responsiveness.py": (("median ms", "x baseline"), True),
    "replica_users.py": (("users/replica", "ratio one/two replicas"), False),
}
# Modules in bench/ that are not benchmarks themselves (they print no table).
SUPPORT_MODULES = {
    "bg_eval_set.py": "builds the background-removal evaluation set that bg_quality.py reads",
    "bg_real_photos.py": "the sample photos with hand-drawn subject masks that bg_quality.py reads",
    "cutout_server.py": "the slow cut-out server that bulk_cutouts.py and the bulk tests talk to",
    "bg_baseline_v1.py": "the previous background remover, scored beside the current one by bg_quality.py",
}
# A quick run takes seconds; the limits leave room for a cold start on a busy 2-core machine.
TIMEOUT_S = {False: 120, True: 240}


def _cases() -> list:
    cases = []
    for script, (header, browser) in BENCHMARKS.items():
        marks = [pytest.mark.bench, pytest.mark.e2e] if browser else [pytest.mark.bench]
        cases.append(pytest.param(script, header, browser, id=script.removesuffix(".py"), marks=marks))
    return cases


@pytest.mark.parametrize(("script", "header", "browser"), _cases())
def test_bench_runs_in_quick_mode(script: str, header: tuple[str, ...], browser: bool) -> None:
    """`python bench/<script> --quick` exits 0 and prints its table's header."""
    # A benchmark that went missing is a failure, not a skip: a skip would hide it in a green run.
    assert (BENCH / script).exists(), f"bench/{script} is missing"
    if browser and chromium_path() is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium); this benchmark drives it")
    done = subprocess.run(
        [sys.executable, f"bench/{script}", "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S[browser],
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    for words in header:
        assert words in done.stdout, done.stdout[-2000:]


def test_every_bench_script_is_smoke_tested() -> None:
    """Each script in bench/ is either smoke-tested here or listed as a support module."""
    scripts = {path.name for path in BENCH.glob("*.py") if not path.name.startswith("_")}
    assert scripts - set(BENCHMARKS) - set(SUPPORT_MODULES) == set()


def test_fast_run_leaves_out_browser_and_bench_tests() -> None:
    """`-m "not e2e and not bench"` deselects every browser test and every benchmark run, and only those."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-m", "not e2e and not bench", "tests/test_bench_smoke.py", "tests/e2e/test_e2e_sessions.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    fast = ["test_every_bench_script_is_smoke_tested", "test_fast_run_leaves_out_browser_and_bench_tests"]
    assert collected == [f"tests/test_bench_smoke.py::{name}" for name in fast], done.stdout
    assert "PytestUnknownMarkWarning" not in done.stdout + done.stderr
