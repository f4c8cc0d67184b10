"""Several images per click: four images, and Compare, against one image, on a server that takes 2 s each.

The server answers every generation after 2 s (the fault server's "slow" path), so the API's own time
dominates, as it does for real. Two levels, each timed from the click to the last image in:
1. the workspace: `generate_many` until its last result is saved in History;
2. the Generate page through AppTest: the click's whole run, every image drawn with its buttons.
Goal: four images and Compare each within 1.3x the time of one image. Also what a client of its own per
call costs (the thread-safety choice): building one, and its first call's new connection.

    python bench/batch_generation.py           # 3 runs per case
    python bench/batch_generation.py --quick   # one run per case, 0.5 s answers (a smoke test)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from lib.client import ImageStudioClient  # noqa: E402
from lib.config import API_KEY_NAME, DATA_DIR_NAME, ENDPOINT_NAME  # noqa: E402
from lib.contract import MODELS  # noqa: E402
from lib.history_entry import new_workspace_id  # noqa: E402
from lib.store import HistoryStore  # noqa: E402
from lib.workspace import Workspace  # noqa: E402
from tests.app_testing import finish_jobs, open_app  # noqa: E402
from tests.fault_server import FaultServer  # noqa: E402

KEY = "sk_bench_batch"
GOAL = 1.3
CASES: dict[str, tuple[int, bool]] = {"1 image": (1, False), "4 images": (4, False), "Compare": (1, True)}


def median_seconds(action: Callable[[], object], runs: int) -> float:
    """The median wall time of `action` over `runs` runs."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def workspace_click(workspace: Workspace, count: int, compare: bool) -> None:
    """One click at the workspace level: every call sent, every result saved."""
    models = list(MODELS) if compare else ["flux-2-pro"] * count
    for _slot, outcome in workspace.generate_many("a lighthouse", models=models, aspect_ratio="1:1"):
        assert not isinstance(outcome, Exception), outcome


def page_click(endpoint: str, data: Path, count: int, compare: bool) -> Callable[[], object]:
    """One click on the Generate page (AppTest), the form set up beforehand (not timed)."""
    at = open_app({API_KEY_NAME: KEY, ENDPOINT_NAME: endpoint, DATA_DIR_NAME: str(data)})
    at.text_area(key="generate_prompt").set_value("a lighthouse")
    at.segmented_control(key="generate_images").set_value(count)
    at.toggle(key="generate_compare").set_value(compare).run()

    def click() -> None:
        finish_jobs(at.button(key="generate_run").click().run())  # the click returns at once: time the images
        shown = sum(button.label == "Download PNG" for button in at.get("download_button"))
        assert not at.exception and shown == (2 if compare else count), (shown, at.main.error)
    return click


def client_costs(server: FaultServer, runs: int) -> tuple[float, float, float]:
    """Milliseconds: building (and closing) a client copy, a call on a warm client, a call on a new one."""
    with ImageStudioClient(KEY, server.endpoint("ok")) as client:
        build = median_seconds(lambda: client.copy().close(), runs * 50)
        client.generate("warm up")
        warm = median_seconds(lambda: client.generate("a kite"), runs * 5)

        def fresh_call() -> None:
            with client.copy() as fresh:
                fresh.generate("a kite")
        fresh = median_seconds(fresh_call, runs * 5)
    return build * 1000, warm * 1000, fresh * 1000


def main() -> None:
    """Time each case at both levels and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run per case, 0.5 s answers")
    args = parser.parse_args()
    runs, answer_s = (1, 0.5) if args.quick else (3, 2.0)
    rows: list[tuple[str, float, float]] = []
    with FaultServer(slow_seconds=answer_s) as server, tempfile.TemporaryDirectory() as folder:
        endpoint = server.endpoint("slow")
        with ImageStudioClient(KEY, endpoint) as client, HistoryStore(Path(folder) / "ws") as store:
            workspace = Workspace(client, store, new_workspace_id())
            workspace_times = {name: median_seconds(lambda c=case: workspace_click(workspace, *c), runs)
                               for name, case in CASES.items()}
        page_times = {name: median_seconds(page_click(endpoint, Path(folder) / "app", *case), runs)
                      for name, case in CASES.items()}
        build_ms, warm_ms, fresh_ms = client_costs(server, runs)
    for name in CASES:
        rows.append((name, workspace_times[name], page_times[name]))

    print(f"Each generation answers after {answer_s:.1f} s; median of {runs} run(s); goal: ratio <= {GOAL}")
    print(f"{'click':<10} {'workspace s':>12} {'ratio':>6} {'page s':>8} {'ratio':>6}  goal")
    one_ws, one_page = rows[0][1], rows[0][2]
    for name, ws_s, page_s in rows:
        ws_ratio, page_ratio = ws_s / one_ws, page_s / one_page
        verdict = "met" if max(ws_ratio, page_ratio) <= GOAL else "MISSED"
        print(f"{name:<10} {ws_s:>12.2f} {ws_ratio:>6.2f} {page_s:>8.2f} {page_ratio:>6.2f}  {verdict}")
    print()
    print("A client of its own per call (requests.Session is not documented as thread-safe):")
    print(f"  build + close a client copy: {build_ms:.2f} ms; a call on a warm client: {warm_ms:.1f} ms; "
          f"on a new client (new connection): {fresh_ms:.1f} ms")


if __name__ == "__main__":
    main()
