"""Remove background in bulk: 10 photos against a server answering each cut-out after 2 s, beside one photo.

The goal (issue 13): all 10 cut-outs within 3x the time of one. Both rows run in the same process, against
the same server (bench/cutout_server.py), through Workspace.remove_backgrounds as the page calls it.

    python bench/bulk_cutouts.py            # 2 s per cut-out, 10 photos
    python bench/bulk_cutouts.py --quick    # a smoke test (0.2 s per cut-out)
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from bench.cutout_server import API_KEY, CutoutServer  # noqa: E402
from lib.client import ImageStudioClient  # noqa: E402
from lib.history_entry import new_workspace_id  # noqa: E402
from lib.store import HistoryStore  # noqa: E402
from lib.workspace import InputImage, Outcome, Workspace  # noqa: E402

GOAL_RATIO = 3.0


def photo(number: int) -> InputImage:
    """A 640 x 480 photo with a subject in it, named like a camera's file."""
    picture = Image.new("RGB", (640, 480), "#d8d0c0")
    picture.paste((40 + number * 20, 60, 120), (200, 120, 440, 400))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90)
    return InputImage(f"IMG_{1000 + number}.jpg", out.getvalue())


def timed_batch(workspace: Workspace, count: int) -> tuple[float, int]:
    """Seconds until every cut-out of `count` photos is back and saved, and how many succeeded."""
    started = time.perf_counter()
    results = list(workspace.remove_backgrounds([photo(n) for n in range(count)]))
    return time.perf_counter() - started, sum(isinstance(outcome, Outcome) for _, outcome in results)


def main() -> None:
    """Time one photo, then the batch, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.2 s per cut-out instead of 2 s")
    parser.add_argument("--photos", type=int, default=10)
    args = parser.parse_args()
    delay = 0.2 if args.quick else 2.0
    with tempfile.TemporaryDirectory() as folder, CutoutServer(delay_s=delay) as server, \
            HistoryStore(folder) as store:
        workspace = Workspace(ImageStudioClient(API_KEY, server.endpoint), store, new_workspace_id())
        one, _ = timed_batch(workspace, 1)
        many, done = timed_batch(workspace, args.photos)
        most = server.most_in_flight
    ratio = many / one
    print(f"server answers each cut-out after {delay:.1f} s; {most} requests in flight at most")
    print(f"{'photos':>7} {'done':>5} {'seconds':>8} {'x one photo':>12}")
    print(f"{1:>7} {1:>5} {one:>8.2f} {1.0:>12.2f}")
    print(f"{args.photos:>7} {done:>5} {many:>8.2f} {ratio:>12.2f}")
    verdict = "met" if ratio <= GOAL_RATIO else "MISSED"
    print(f"goal: {args.photos} photos within {GOAL_RATIO:.0f}x one photo: {verdict}")


if __name__ == "__main__":
    main()
