"""What the client costs over bare requests: N generate calls each way against one in-process Local Studio.

The client validates, streams with a cap and checks that the result decodes; the baselines only POST and
download. Calls alternate (and swap which goes first each round) so drift in the machine hits all alike.

    python bench/client_overhead.py            # 30 calls of each
    python bench/client_overhead.py --n 100
    python bench/client_overhead.py --quick    # a smoke test: 3 calls of each
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from lib.client import ImageStudioClient  # noqa: E402
from lib.local_studio import StudioConfig, start_local_studio  # noqa: E402

GOAL = 1.05
MODEL = "flux-2-klein-9b"
ASPECT_RATIO = "16:9"
SUBJECTS = ("a lighthouse at dusk", "a red fox in snow", "a bowl of ramen", "a city street in rain",
            "a sailing boat at noon", "a forest path in autumn", "a cat on a windowsill")


def prompt_for(index: int) -> str:
    """The index-th prompt; each round sends the same prompt both ways."""
    return f"{SUBJECTS[index % len(SUBJECTS)]}, take {index}"


def main() -> int:
    """Run the benchmark and print a table; exit 1 if the median ratio misses the goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="calls of each kind (default 30)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls of each kind first (default 2)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 3 calls, 1 warm-up")
    args = parser.parse_args()
    n, warmup = (3, 1) if args.quick else (args.n, args.warmup)

    studio = start_local_studio(config=StudioConfig(starting_credits=10**9))
    client = ImageStudioClient(studio.api_key, studio.endpoint, timeout=120)
    session = requests.Session()
    headers = {"Authorization": f"Bearer {studio.api_key}", "Content-Type": "application/json"}

    def bare(prompt: str, http: requests.Session | None) -> bytes:
        post, get = (http.post, http.get) if http else (requests.post, requests.get)
        body = {"prompt": prompt, "model": MODEL, "aspect_ratio": ASPECT_RATIO}
        answer = post(studio.endpoint, json=body, headers=headers, timeout=120)
        answer.raise_for_status()
        image = get(answer.json()["image_url"], timeout=120)
        image.raise_for_status()
        return image.content

    ways: dict[str, Callable[[str], object]] = {
        "client.generate": lambda p: client.generate(p, model=MODEL, aspect_ratio=ASPECT_RATIO),
        "bare requests.post + get": lambda p: bare(p, None),
        "bare Session.post + get": lambda p: bare(p, session),
    }
    timings: dict[str, list[float]] = {name: [] for name in ways}
    try:
        names = list(ways)
        for index in range(-warmup, n):
            # Rotate the order so each way runs first, middle and last equally often.
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                started = time.perf_counter()
                ways[name](prompt_for(index))
                if index >= 0:
                    timings[name].append(time.perf_counter() - started)
    finally:
        client.close()
        session.close()
        studio.stop()

    base = "bare requests.post + get"
    baseline = statistics.median(timings[base])
    print(f"{n} calls each, model {MODEL}, aspect ratio {ASPECT_RATIO}, Local Studio in-process")
    print(f"{'way':<28}{'median ms':>11}{'p90 ms':>9}{'ratio of medians':>18}{'paired ratio':>14}")
    for name, values in timings.items():
        median = statistics.median(values)
        p90 = sorted(values)[max(0, round(0.9 * len(values)) - 1)]
        # The same prompt went every way in a round: the per-round ratio cancels slow and fast prompts.
        paired = statistics.median(value / other for value, other in zip(values, timings[base], strict=True))
        print(f"{name:<28}{median * 1000:>11.1f}{p90 * 1000:>9.1f}{median / baseline:>18.3f}{paired:>14.3f}")
    ratio = statistics.median(timings["client.generate"]) / baseline
    verdict = "meets" if ratio <= GOAL else "misses"
    print(f"client / bare requests (ratio of medians): {ratio:.3f}x ({verdict} the goal of <= {GOAL:.2f}x)")
    return 0 if ratio <= GOAL or args.quick else 1


if __name__ == "__main__":
    raise SystemExit(main())
