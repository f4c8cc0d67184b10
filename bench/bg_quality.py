"""Background-removal quality, old engine against new in one run, with a GrabCut baseline.

    python bench/bg_quality.py              # new, old (release 0.1) and GrabCut on the whole set
    python bench/bg_quality.py --engine-only
    python bench/bg_quality.py --quick      # a smoke test: one composite per background kind, one photo

Two sets: composites with exact alpha over four background kinds (bench/bg_eval_set.py), and the
sample photos with masks drawn by hand (bench/bg_real_photos.py: people, an animal, objects).
Columns: IoU of alpha > 0.5; mean absolute alpha error (0..1); edge colour error = mean absolute RGB
difference (0..255) in the band around the true edge between the cut-out and the true foreground, each
laid over black and over white (coloured halos and fringes raise it; composites only, a photo's true
foreground colour is unknown); seconds per megapixel.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from the project root

from bench.bg_baseline_v1 import remove_background as remove_background_v1
from bench.bg_eval_set import BACKGROUND_KINDS, FOREGROUNDS, Case, case_specs, load_set, make_case
from bench.bg_real_photos import RealPhoto, load_photo, load_photos
from lib.local_studio.engines.background import remove_background

Engine = Callable[[Image.Image], Image.Image]


def grabcut_baseline(image: Image.Image) -> Image.Image:
    """The known reference: GrabCut at 512 px with the image border as sure background, mask feathered."""
    rgb = np.asarray(image.convert("RGB"))
    height, width = rgb.shape[:2]
    scale = min(1.0, 512 / max(height, width))
    small = cv2.resize(rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    bgr = np.ascontiguousarray(small[:, :, ::-1])
    border = max(2, min(bgr.shape[:2]) // 50)
    mask = np.full(bgr.shape[:2], cv2.GC_PR_FGD, np.uint8)
    mask[:border], mask[-border:], mask[:, :border], mask[:, -border:] = (cv2.GC_BGD,) * 4
    models = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(bgr, mask, None, *models, 4, cv2.GC_INIT_WITH_MASK)
    alpha = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    alpha = cv2.GaussianBlur(cv2.resize(alpha, (width, height)), (0, 0), 1.0)
    return Image.fromarray(np.dstack([rgb, alpha]), "RGBA")


def _edge_band(alpha: np.ndarray) -> np.ndarray:
    """Pixels within a few pixels of the true edge, plus every partly transparent pixel."""
    solid = (alpha > 127).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    band = cv2.dilate(solid, kernel) != cv2.erode(solid, kernel)
    return band | ((alpha > 5) & (alpha < 250))


def score(case: Case | RealPhoto, cutout: Image.Image) -> dict[str, float]:
    """IoU, alpha error and (for composites) edge colour error of one cut-out against its ground truth."""
    rgba = np.asarray(cutout.convert("RGBA")).astype(np.float32)
    predicted = rgba[:, :, 3] / 255.0
    truth = case.alpha.astype(np.float32) / 255.0
    union = np.logical_or(predicted > 0.5, truth > 0.5).sum()
    iou = np.logical_and(predicted > 0.5, truth > 0.5).sum() / max(int(union), 1)
    mae = float(np.abs(predicted - truth).mean())
    if isinstance(case, RealPhoto):
        return {"iou": float(iou), "mae": mae, "edge": float("nan")}
    band = _edge_band(case.alpha)
    errors = []
    for backdrop in (0.0, 255.0):
        ours = rgba[:, :, :3] * predicted[:, :, None] + backdrop * (1 - predicted[:, :, None])
        true = case.foreground.astype(np.float32) * truth[:, :, None] + backdrop * (1 - truth[:, :, None])
        errors.append(np.abs(ours - true)[band].mean())
    return {"iou": float(iou), "mae": mae, "edge": float(np.mean(errors))}


def kind_of(case: Case | RealPhoto) -> str:
    """The table row a case counts in: its background kind, or the subject kind of a real photo."""
    return f"real {case.kind}" if isinstance(case, RealPhoto) else case.background_kind


def evaluate(engine: Engine, cases: list[Case | RealPhoto]) -> list[dict[str, float | str]]:
    """Run the engine on every case (timed) and score it."""
    rows: list[dict[str, float | str]] = []
    for case in cases:
        image = Image.fromarray(case.image, "RGB")
        start = time.perf_counter()
        cutout = engine(image)
        seconds = time.perf_counter() - start
        megapixels = image.width * image.height / 1e6
        rows.append(
            {
                "name": case.name,
                "kind": kind_of(case),
                "s_per_mp": seconds / megapixels,
                **score(case, cutout),
            }
        )
    return rows


def print_table(title: str, rows: list[dict[str, float | str]], detail: bool = False) -> None:
    """Per-kind and overall means, optionally each case too."""
    print(f"\n{title}")
    print(f"{'kind':<10}{'n':>3}{'IoU':>8}{'alpha MAE':>11}{'edge err':>10}{'s/MP':>8}")
    groups: dict[str, list[dict[str, float | str]]] = defaultdict(list)
    for row in rows:
        groups[str(row["kind"])].append(row)
    real_kinds = sorted(kind for kind in groups if kind.startswith("real"))
    for kind in (*BACKGROUND_KINDS, *real_kinds, "overall"):
        group = rows if kind == "overall" else groups[kind]
        if not group:
            continue
        means = {
            key: float(np.nanmean([float(r[key]) for r in group]))
            if any(not np.isnan(float(r[key])) for r in group)
            else float("nan")
            for key in ("iou", "mae", "edge", "s_per_mp")
        }
        print(
            f"{kind:<10}{len(group):>3}{means['iou']:>8.3f}{means['mae']:>11.4f}{means['edge']:>10.1f}"
            f"{means['s_per_mp']:>8.3f}"
        )
    if detail:
        for row in rows:
            print(
                f"  {row['name']:<24}IoU {row['iou']:.3f}  MAE {row['mae']:.4f}  edge {row['edge']:.1f}"
                f"  {row['s_per_mp']:.3f} s/MP"
            )


def main() -> None:
    """Evaluate the engine, its previous version and the GrabCut baseline on both sets; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine-only", action="store_true", help="skip the old engine and GrabCut")
    parser.add_argument("--detail", action="store_true", help="also print every case")
    parser.add_argument("--quick", action="store_true", help="smoke test: one case per kind")
    args = parser.parse_args()
    cases: list[Case | RealPhoto]
    if args.quick:
        cases = [make_case(*spec) for spec in case_specs()[:: len(FOREGROUNDS)]] + [load_photo("astronaut")]
    else:
        cases = [*load_set(), *load_photos()]
    cv2.setNumThreads(1)  # the goal is per core
    for engine in (remove_background, remove_background_v1):  # warm-up: first calls pay for lazy loading
        engine(Image.fromarray(cases[-1].image))
    print_table("NEW: Local Studio background removal", evaluate(remove_background, cases), args.detail)
    if not args.engine_only:
        print_table("OLD: the engine of release 0.1", evaluate(remove_background_v1, cases), args.detail)
    if not (args.engine_only or args.quick):
        print_table(
            "Baseline: GrabCut seeded from the border at 512 px",
            evaluate(grabcut_baseline, cases),
            args.detail,
        )


if __name__ == "__main__":
    main()
