"""How history scales: the store's queries, search and the History page's render, for 0 to 10,000 entries.

Run: python bench/history_scale.py [--quick]

All workspaces share one store (one database, as in the app), so every query must find its own rows
among the others'. The page is rendered by Streamlit's AppTest (the whole app: frame, sidebar and the
History page, against a Local Studio so the app starts none of its own); a rerun's time is the script's
run plus AppTest reading its output, with no browser. AppTest reruns the whole script on every click,
where a browser's page turn reruns only the gallery fragment, so page turns here are an upper bound.
Goals: 1,000 items <= 2x the empty page; 10,000 items paginate in well under a second per page; a search
at 10,000 items answers (count and first page) within 100 ms at p95.
Other benchmarks can import seed_workspace().
"""

from __future__ import annotations

import argparse
import gc
import io
import logging
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere without installing

from streamlit.testing.v1 import AppTest  # noqa: E402

from lib.config import API_KEY_NAME, DATA_DIR_NAME, ENDPOINT_NAME  # noqa: E402
from lib.history_entry import new_workspace_id  # noqa: E402
from lib.history_store_base import HistoryStoreBase  # noqa: E402
from lib.local_studio import LocalStudioHandle, StudioConfig, start_local_studio  # noqa: E402
from lib.store import HistoryStore  # noqa: E402
from lib.ui.history_gallery import PAGE_SIZE as PAGE  # noqa: E402
from lib.ui.session import WORKSPACE_PARAM  # noqa: E402
from lib.workspace_links import mint_workspace_id, stored_secret  # noqa: E402

SIZES = (0, 100, 1_000, 10_000)
QUICK_SIZES = (0, 100)
APP = ROOT / "app.py"
HISTORY_PAGE = "app_pages/history.py"
RUN_TIMEOUT_S = 60  # a cold first run on a busy machine; a run returns as soon as it finishes
GOAL_RATIO = 2.0  # 1,000 items against the empty page
GOAL_PAGE_S = 0.5  # 10,000 items: every page turn "well under a second", read as at most half of one
GOAL_SEARCH_MS = 100.0  # a search that follows typing must feel instant
# From every seeded entry matching to none: common words, a rare one, a word being typed, a file name,
# words too short for the index, and FTS5 syntax that must stay text.
SEARCHES = ("lighthouse", "dusk watercolour", "scene 4321", "lighth", "holiday-photo-12", "a", "at 1",
            "zebra", '"cliff" NEAR -dusk*')
_WHERE = re.compile(r"Page ([\d,]+) of ([\d,]+)")
# Kinds in the proportions a team would produce them: mostly generations.
_KIND_CYCLE = ("generation",) * 7 + ("edit", "cutout", "enhancement")
_SAMPLE = ROOT / "assets" / "samples" / "astronaut.jpg"


def small_png(side: int = 64, *, seed: int = 0, alpha: bool = False) -> bytes:
    """A small real PNG (a colour gradient, varied by seed), optionally with a transparent border."""
    image = Image.linear_gradient("L").resize((side, side)).convert("RGB")
    image = Image.merge("RGB", (image.getchannel(0), image.getchannel(0).rotate(90),
                                Image.new("L", (side, side), seed * 37 % 256)))
    if alpha:
        mask = Image.new("L", (side, side), 0)
        mask.paste(255, (side // 8, side // 8, side - side // 8, side - side // 8))
        image.putalpha(mask)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def seed_workspace(store: HistoryStoreBase, workspace_id: str, count: int) -> float:
    """Add count entries of every kind (small real PNGs) to a workspace; returns the seconds it took."""
    opaque = [small_png(seed=i) for i in range(8)]
    cut_out = small_png(alpha=True)
    started = time.perf_counter()
    for i in range(count):
        kind = _KIND_CYCLE[i % len(_KIND_CYCLE)]
        prompt = f"test scene {i}: a lighthouse on a cliff at dusk, painted in watercolour"
        if kind == "enhancement":
            store.add(workspace_id, kind, prompt=prompt, text=prompt + ", soft light, detailed")
        else:
            image = cut_out if kind == "cutout" else opaque[i % len(opaque)]
            store.add(workspace_id, kind, prompt=prompt, image_png=image, model="flux-2-klein-9b",
                      aspect_ratio="1:1", credits_used=2 if kind == "cutout" else 1,
                      source_name=f"holiday-photo-{i}.jpg" if kind == "cutout" else None)
    return time.perf_counter() - started


def median_ms(action: Callable[[], object], repeats: int) -> float:
    """Median wall time of an action in milliseconds (after one warm-up run)."""
    action()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def peak_kib(action: Callable[[], object]) -> float:
    """Peak Python memory allocated while the action runs, in KiB."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / 1024
    finally:
        tracemalloc.stop()


def first_page(store: HistoryStore, workspace_id: str) -> None:
    """What the History page asks of the store on every rerun: the total and the first page."""
    store.count(workspace_id)
    store.list(workspace_id, limit=PAGE, offset=0)


def last_page(store: HistoryStore, workspace_id: str) -> None:
    """The deepest page: the worst case for offset paging."""
    total = store.count(workspace_id)
    store.list(workspace_id, limit=PAGE, offset=max(0, (total - 1) // PAGE * PAGE))


def searched_page(store: HistoryStore, workspace_id: str, search: str) -> None:
    """What the History page asks of the store for a search: the matches' total and their first page."""
    store.count(workspace_id, search=search)
    store.list(workspace_id, limit=PAGE, offset=0, search=search)


def percentile_ms(action: Callable[[], object], repeats: int, percent: float = 95) -> float:
    """A percentile of an action's wall time in milliseconds (after one warm-up run)."""
    action()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    times.sort()
    return times[max(0, round(percent / 100 * len(times)) - 1)] * 1000


def search_table(store: HistoryStore, workspaces: dict[int, str], repeats: int) -> None:
    """Time a search (count + first page, as the page asks) for the largest workspace, one row per search."""
    size = max(workspaces)
    workspace = workspaces[size]
    print(f"\nHistory search at {size:,} items (count + first page; p50 and p95 of {repeats} runs)")
    header = f"{'search':>26} {'matches':>8} {'p50 ms':>8} {'p95 ms':>8}"
    print(header)
    print("-" * len(header))
    worst = 0.0
    for search in SEARCHES:
        p50 = percentile_ms(lambda s=search: searched_page(store, workspace, s), repeats, 50)
        p95 = percentile_ms(lambda s=search: searched_page(store, workspace, s), repeats)
        worst = max(worst, p95)
        print(f"{search!r:>26} {store.count(workspace, search=search):>8,} {p50:>8.2f} {p95:>8.2f}")
    if size >= 10_000:
        verdict = "meets" if worst <= GOAL_SEARCH_MS else "misses"
        print(f"{size:,} items: search p95 {worst:.1f} ms at worst ({verdict} the goal of "
              f"<= {GOAL_SEARCH_MS:.0f} ms)")


def zip_to_file(store: HistoryStore, workspace_id: str, folder: Path) -> int:
    """Export to a file on disk (how a very large history can avoid building the zip in memory)."""
    with open(folder / "export.zip", "wb") as out:
        store.write_zip(workspace_id, out)
    return (folder / "export.zip").stat().st_size


def store_table(store: HistoryStore, sizes: tuple[int, ...], repeats: int, folder: Path) -> dict[int, str]:
    """Seed a workspace per size, print the store's query times; returns the workspace id of each size."""
    print(f"History store (SQLite {sqlite3.sqlite_version}; 64x64 PNG entries, {PAGE} per page as on the "
          f"History page; median of {repeats} runs; all workspaces in one store)")
    header = (f"{'N':>7} {'seed s':>7} {'ms/add':>7} {'count ms':>9} {'count+page1 ms':>15} "
              f"{'last page ms':>13} {'cutouts p1 ms':>14} {'zip s':>7} {'zip MB':>7} "
              f"{'page peak KiB':>14} {'zip-to-file peak KiB':>21}")
    print(header)
    print("-" * len(header))
    workspaces: dict[int, str] = {}
    for size in sizes:
        # Minted as the app does: it adopts no other id from ?ws=, so the pages below would time empty ones.
        workspace = workspaces[size] = mint_workspace_id(stored_secret(store.root))
        seed_s = seed_workspace(store, workspace, size)
        count_ms = median_ms(lambda w=workspace: store.count(w), repeats)
        page1_ms = median_ms(lambda w=workspace: first_page(store, w), repeats)
        last_ms = median_ms(lambda w=workspace: last_page(store, w), repeats)
        kind_ms = median_ms(lambda w=workspace: store.list(w, kind="cutout", limit=PAGE), repeats)
        started = time.perf_counter()
        zip_bytes = store.export_zip(workspace)
        zip_s = time.perf_counter() - started
        page_peak = peak_kib(lambda w=workspace: first_page(store, w))
        file_peak = peak_kib(lambda w=workspace: zip_to_file(store, w, folder))
        per_add = seed_s / size * 1000 if size else 0.0
        print(f"{size:>7,} {seed_s:>7.2f} {per_add:>7.2f} {count_ms:>9.3f} {page1_ms:>15.3f} "
              f"{last_ms:>13.3f} {kind_ms:>14.3f} {zip_s:>7.2f} {len(zip_bytes) / 1e6:>7.2f} "
              f"{page_peak:>14.0f} {file_peak:>21.0f}")

    # The realistic single save: a ~1 MP result (decode for the thumbnail, text chunks, fsync, row).
    big = io.BytesIO()
    Image.open(_SAMPLE).convert("RGB").resize((1024, 1024)).save(big, "PNG")
    workspace = new_workspace_id()
    add_ms = median_ms(lambda: store.add(workspace, "generation", prompt="a 1 MP result",
                                         image_png=big.getvalue(), model="flux-2-pro"),
                       max(3, repeats // 5))
    thumb = store.list(workspace, limit=1)[0].thumbnail or b""
    print(f"\nadd() of a 1024x1024 PNG ({len(big.getvalue()) / 1e6:.2f} MB): {add_ms:.1f} ms median; "
          f"its thumbnail is {len(thumb) / 1024:.1f} KiB")
    return workspaces


def open_history(studio: LocalStudioHandle, data_dir: Path, workspace: str) -> AppTest:
    """The app opened on its History page for a workspace, with secrets pointing at the seeded store."""
    return history_page({API_KEY_NAME: studio.api_key, ENDPOINT_NAME: studio.endpoint,
                         DATA_DIR_NAME: str(data_dir)}, workspace)


def history_page(app_secrets: dict[str, str], workspace: str) -> AppTest:
    """The whole app opened on its History page for a workspace with these secrets, refusing a failed page."""
    at = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT_S)
    at.secrets.update(app_secrets)
    at.query_params[WORKSPACE_PARAM] = workspace
    at.run()
    at.switch_page(HISTORY_PAGE).run()
    return checked(at)


def checked(at: AppTest) -> AppTest:
    """The app after a run, refusing to time a page that failed (a fast traceback is no result)."""
    if at.exception:
        raise RuntimeError(f"the History page failed: {at.exception[0].value}")
    return at


def timed_rerun(at: AppTest) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of the whole script (frame, sidebar, History page) as AppTest sees it.

    CPU is this process's (the script's thread and AppTest's reading of its output; the in-process Local
    Studio sits idle): unlike wall time, other work on the machine does not inflate it.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    at.run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    checked(at)
    return wall, cpu


def position(at: AppTest) -> tuple[int, int]:
    """(page, pages) as the History page shows them; (0, 0) when it shows no pages (empty history)."""
    for element in at.markdown:
        found = _WHERE.search(str(element.value))
        if found:
            return int(found[1].replace(",", "")), int(found[2].replace(",", ""))
    return 0, 0


def walk_to_last_page(at: AppTest) -> list[tuple[float, float]]:
    """Click Next until the last page, as a person would; (wall, CPU) seconds of each page turn."""
    page, pages = position(at)
    turns = []
    while page < pages:
        at.button(key="history_next").click()
        turns.append(timed_rerun(at))
        page, pages = position(at)
    return turns


def kept_per_page_turn_kib(at: AppTest, turns: int) -> float:
    """Python memory the session keeps per page turn (KiB), after `turns` clicks on Next from page 1.

    Streamlit keeps the metadata of every widget a session has shown until the session ends, so widgets
    keyed by entry id add up as a person pages through. AppTest's own records are included.
    """
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(turns):
            at.button(key="history_next").click()
            checked(at.run())
        gc.collect()
        return (tracemalloc.get_traced_memory()[0] - before) / 1024 / turns
    finally:
        tracemalloc.stop()


def med_ms(timings: list[tuple[float, float]], which: int = 0) -> float:
    """Median wall (which=0) or CPU (which=1) time of (wall, CPU) pairs, in milliseconds."""
    return statistics.median(timing[which] for timing in timings) * 1000


def page_table(studio: LocalStudioHandle, data_dir: Path, workspaces: dict[int, str], repeats: int) -> None:
    """Time the History page for each workspace; sizes take turns so machine drift hits them all alike."""
    apps = {size: open_history(studio, data_dir, workspace) for size, workspace in workspaces.items()}
    for at in apps.values():  # warm: the first runs compile the pages and fill Streamlit's caches
        at.run()
    first: dict[int, list[tuple[float, float]]] = {size: [] for size in apps}
    order = list(apps)
    for round_ in range(repeats):
        shift = round_ % len(order)
        for size in order[shift:] + order[:shift]:
            first[size].append(timed_rerun(apps[size]))
    walks = {size: walk_to_last_page(at) for size, at in apps.items()}
    last = {size: [timed_rerun(at) for _ in range(repeats)] for size, at in apps.items()}

    empty = min(apps)
    print(f"\nHistory page render (AppTest rerun of the whole app; median of {repeats} reruns, sizes in "
          f"turn; {PAGE} items a page; page turns by clicking Next; CPU = this process's CPU time)")
    header = (f"{'N':>7} {'page 1 ms':>10} {'x empty':>8} {'page 1 CPU ms':>14} {'CPU x empty':>12} "
              f"{'pages':>6} {'Next ms':>8} {'Next CPU ms':>12} {'slowest Next ms':>16} {'last page ms':>13} "
              f"{'clicks to last':>15} {'to last s':>10}")
    print(header)
    print("-" * len(header))
    for size, at in apps.items():
        wall, cpu = med_ms(first[size]), med_ms(first[size], 1)
        cells = (f"{size:>7,} {wall:>10.1f} {wall / med_ms(first[empty]):>8.2f} {cpu:>14.1f} "
                 f"{cpu / med_ms(first[empty], 1):>12.2f} {position(at)[1]:>6,} ")
        turns = walks[size]
        if turns:
            cells += (f"{med_ms(turns):>8.1f} {med_ms(turns, 1):>12.1f} "
                      f"{max(wall for wall, _ in turns) * 1000:>16.1f} {med_ms(last[size]):>13.1f} "
                      f"{len(turns):>15,} {sum(wall for wall, _ in turns):>10.2f}")
        else:
            cells += f"{'-':>8} {'-':>12} {'-':>16} {med_ms(last[size]):>13.1f} {'-':>15} {'-':>10}"
        print(cells)
    largest = max(apps)
    pages = position(apps[largest])[1]
    if pages > 1:
        turns = min(30, pages - 1)
        kept = kept_per_page_turn_kib(open_history(studio, data_dir, workspaces[largest]), turns)
        print(f"session memory kept per page turn ({largest:,} items, {turns} turns from page 1): "
              f"{kept:.0f} KiB")
    verdicts(first, walks, last)


def verdicts(
    first: dict[int, list[tuple[float, float]]],
    walks: dict[int, list[tuple[float, float]]],
    last: dict[int, list[tuple[float, float]]],
) -> None:
    """One line per goal that this run measured: met or missed, with the figure."""
    if 0 in first and 1_000 in first:
        wall = med_ms(first[1_000]) / med_ms(first[0])
        cpu = med_ms(first[1_000], 1) / med_ms(first[0], 1)
        verdict = "meets" if max(wall, cpu) <= GOAL_RATIO else "misses"
        print(f"1,000 items: page 1 is {wall:.2f}x the empty page in wall time, {cpu:.2f}x in CPU time "
              f"({verdict} the goal of <= {GOAL_RATIO:.0f}x)")
    if walks.get(10_000):
        turns = sorted(wall for wall, _ in walks[10_000] + last[10_000])
        slowest, p95 = turns[-1], turns[max(0, round(0.95 * len(turns)) - 1)]
        verdict = "meets" if slowest <= GOAL_PAGE_S else "misses"
        print(f"10,000 items: page turns p95 {p95 * 1000:.0f} ms, slowest {slowest * 1000:.0f} ms "
              f"({verdict} the goal of well under a second, read as <= {GOAL_PAGE_S * 1000:.0f} ms)")


def run(sizes: tuple[int, ...], repeats: int) -> None:
    """Seed one store with a workspace per size, then time the store and the History page."""
    # AppTest outside a server run says "missing ScriptRunContext" once per app: expected, and noise here.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        lambda record: "missing ScriptRunContext" not in record.getMessage())
    with tempfile.TemporaryDirectory(prefix="history-bench-") as tmp:
        data_dir = Path(tmp) / "store"
        with HistoryStore(data_dir) as store:
            workspaces = store_table(store, sizes, repeats, Path(tmp))
            search_table(store, workspaces, repeats)
        # The page only reads history; the Local Studio is there so the app does not start its own.
        studio = start_local_studio(config=StudioConfig())
        try:
            page_table(studio, data_dir, workspaces, repeats)
        finally:
            # Streamlit sets uvicorn's loggers to INFO when an app starts; its stop notes are noise here.
            logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
            studio.stop()


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (smoke test)")
    args = parser.parse_args()
    run(QUICK_SIZES if args.quick else SIZES, repeats=5 if args.quick else 40)


if __name__ == "__main__":
    main()
