"""How the history store scales: listing, counting and exporting a workspace of 0 to 10,000 entries.

Run: python bench/history_scale.py [--quick]

All workspaces share one store (one database, as in the app), so every query must find its own rows
among the others'. Other benchmarks can import seed_workspace() to fill a store before timing a page.
"""

from __future__ import annotations

import argparse
import io
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing

from lib.store import HistoryStore, new_workspace_id

PAGE = 24
SIZES = (0, 100, 1_000, 10_000)
QUICK_SIZES = (0, 100)
# Kinds in the proportions a team would produce them: mostly generations.
_KIND_CYCLE = ("generation",) * 7 + ("edit", "cutout", "enhancement")
_SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "samples" / "astronaut.jpg"


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


def seed_workspace(store: HistoryStore, workspace_id: str, count: int) -> float:
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
                      aspect_ratio="1:1", credits_used=2 if kind == "cutout" else 1)
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


def zip_to_file(store: HistoryStore, workspace_id: str, folder: Path) -> int:
    """Export to a file on disk (how a very large history can avoid building the zip in memory)."""
    with open(folder / "export.zip", "wb") as out:
        store.write_zip(workspace_id, out)
    return (folder / "export.zip").stat().st_size


def run(sizes: tuple[int, ...], repeats: int) -> None:
    """Seed one store with a workspace per size, then time and print the table."""
    with tempfile.TemporaryDirectory(prefix="history-bench-") as tmp, \
            HistoryStore(Path(tmp) / "store") as store:
        print(f"History store scale (SQLite {sqlite3.sqlite_version}; 64x64 PNG entries, {PAGE} per page; "
              f"median of {repeats} runs; all workspaces in one store)")
        header = (f"{'N':>7} {'seed s':>7} {'ms/add':>7} {'count ms':>9} {'count+page1 ms':>15} "
                  f"{'last page ms':>13} {'cutouts p1 ms':>14} {'zip s':>7} {'zip MB':>7} "
                  f"{'page peak KiB':>14} {'zip-to-file peak KiB':>21}")
        print(header)
        print("-" * len(header))
        for size in sizes:
            workspace = new_workspace_id()
            seed_s = seed_workspace(store, workspace, size)
            count_ms = median_ms(lambda w=workspace: store.count(w), repeats)
            page1_ms = median_ms(lambda w=workspace: first_page(store, w), repeats)
            last_ms = median_ms(lambda w=workspace: last_page(store, w), repeats)
            kind_ms = median_ms(lambda w=workspace: store.list(w, kind="cutout", limit=PAGE), repeats)
            started = time.perf_counter()
            zip_bytes = store.export_zip(workspace)
            zip_s = time.perf_counter() - started
            page_peak = peak_kib(lambda w=workspace: first_page(store, w))
            file_peak = peak_kib(lambda w=workspace: zip_to_file(store, w, Path(tmp)))
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


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (smoke test)")
    args = parser.parse_args()
    run(QUICK_SIZES if args.quick else SIZES, repeats=5 if args.quick else 25)


if __name__ == "__main__":
    main()
