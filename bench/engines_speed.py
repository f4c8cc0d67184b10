"""Speed of the Local Studio engines on this machine: seconds per megapixel, median of repeated runs.

    python bench/engines_speed.py
    python bench/engines_speed.py --quick    # a smoke test: one run of each, sample photos only

Background removal runs on the sample photos and on evaluation composites, at about 1 MP and at the
4 MP engine limit, next to the GrabCut baseline in the same run. Previews are timed at every aspect
ratio, edits on a 1 MP photo, the enhancer on short prompts and on one near the 10,000-character limit.
Goals: background removal <= 0.5 s/MP, a preview < 0.5 s, the enhancer < 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from the project root

from bench.bg_eval_set import load_set
from bench.bg_quality import grabcut_baseline
from lib.contract import ASPECT_RATIOS, MAX_PIXELS, MAX_PROMPT_CHARS
from lib.local_studio.engines import (
    edit_image,
    enhance_prompt,
    output_size,
    remove_background,
    render_preview,
)

SAMPLES = Path(__file__).resolve().parents[1] / "assets" / "samples"
REPEATS = 3
QUICK = False  # set by --quick: one run of each, no evaluation composites


def median_seconds(
    action: Callable[[], object], repeats: int = REPEATS, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Median time of an action over a few runs (after one warm-up run), by the given clock."""
    action()
    repeats = 1 if QUICK else repeats
    times = []
    for _ in range(repeats):
        start = clock()
        action()
        times.append(clock() - start)
    return statistics.median(times)


def at_megapixels(image: Image.Image, megapixels: float) -> Image.Image:
    """The image scaled to about the given number of megapixels."""
    factor = (megapixels * 1e6 / (image.width * image.height)) ** 0.5
    return image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.LANCZOS)


def background_rows() -> list[tuple[str, float, float, float]]:
    """(input, engine wall s/MP, engine CPU s/MP, baseline wall s/MP) at 1 MP and at the 4 MP limit."""
    inputs: list[tuple[str, Image.Image]] = []
    for path in sorted(SAMPLES.glob("*.jpg"))[: 1 if QUICK else None]:
        photo = Image.open(path).convert("RGB")
        inputs.append((f"{path.stem} 1 MP", at_megapixels(photo, 1.0)))
    astronaut = Image.open(SAMPLES / "astronaut.jpg").convert("RGB")
    inputs.append(("astronaut 4 MP", at_megapixels(astronaut, MAX_PIXELS / 1e6 * 0.99)))
    for case in [] if QUICK else list(load_set())[::5]:
        inputs.append((case.name, Image.fromarray(case.image)))
    rows = []
    for name, image in inputs:
        megapixels = image.width * image.height / 1e6
        wall = median_seconds(lambda image=image: remove_background(image)) / megapixels
        # CPU time of this process: not inflated when other work shares the machine (all threads summed).
        cpu = (
            median_seconds(lambda image=image: remove_background(image), clock=time.process_time) / megapixels
        )
        baseline = 0.0 if QUICK else median_seconds(lambda image=image: grabcut_baseline(image), repeats=1)
        baseline /= megapixels
        rows.append((name, wall, cpu, baseline))
    return rows


def main() -> None:
    """Print the speed tables."""
    global QUICK
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: one run of each, photos only")
    QUICK = parser.parse_args().quick
    print("Background removal (s per megapixel)")
    print(f"{'input':<26}{'engine':>9}{'engine CPU':>12}{'GrabCut 512':>13}")
    rows = background_rows()
    for name, wall, cpu, baseline in rows:
        print(f"{name:<26}{wall:>9.3f}{cpu:>12.3f}{baseline:>13.3f}")
    for label, pick in (("median", statistics.median), ("worst", max)):
        print(
            f"{label:<26}{pick(r[1] for r in rows):>9.3f}{pick(r[2] for r in rows):>12.3f}"
            f"{pick(r[3] for r in rows):>13.3f}"
        )

    print("\nPreview generation")
    print(f"{'ratio':<8}{'size':>12}{'s/image':>9}{'s/MP':>7}")
    prompts = [
        "A futuristic city skyline at night with neon lights",
        "a watercolor lake with mountains at sunset",
    ]
    for ratio in ASPECT_RATIOS:
        width, height = output_size(ratio)
        seconds = max(median_seconds(lambda p=p, w=width, h=height: render_preview(p, w, h)) for p in prompts)
        print(f"{ratio:<8}{f'{width}x{height}':>12}{seconds:>9.3f}{seconds / (width * height / 1e6):>7.3f}")

    print("\nEdits on a 1 MP photo")
    photo = at_megapixels(Image.open(SAMPLES / "astronaut.jpg").convert("RGB"), 1.0)
    megapixels = photo.width * photo.height / 1e6
    print(f"{'prompt':<26}{'s/MP':>7}")
    for prompt in ("black and white", "warmer and brighter", "blur", "pixelate", "watercolor", "mirror"):
        print(f"{prompt:<26}{median_seconds(lambda p=prompt: edit_image(p, photo)) / megapixels:>7.3f}")

    print("\nPrompt enhancement")
    long_prompt = ("a dog running on a sunny beach with waves " * 300)[: MAX_PROMPT_CHARS - 50]
    for label, prompt in (("short prompt", "a dog on a beach"), ("9,950 characters", long_prompt)):
        print(f"{label:<26}{median_seconds(lambda p=prompt: enhance_prompt(p), repeats=20) * 1000:>7.2f} ms")


if __name__ == "__main__":
    main()
