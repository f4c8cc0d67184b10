"""Background removal of soft fringes over plain and graded backdrops: strands keep their own width."""

from __future__ import annotations

import numpy as np
from PIL import Image

from bench.bg_eval_set import make_case
from lib.local_studio.engines import remove_background


def iou_of(index: int, background_kind: str, foreground_kind: str) -> float:
    """IoU of alpha > 0.5 between the cut-out of one evaluation composite and its exact alpha."""
    case = make_case(index, background_kind, foreground_kind)
    alpha = np.asarray(remove_background(Image.fromarray(case.image)))[:, :, 3] > 127
    truth = case.alpha > 127
    return float((alpha & truth).sum() / max(int((alpha | truth).sum()), 1))


def test_fur_fringe_on_a_studio_backdrop_is_not_widened() -> None:
    """A fluffy toy's see-through fur fringe on a plain backdrop is not cut a few pixels too wide."""
    assert iou_of(5, "studio", "soft") > 0.962


def test_fur_fringe_on_a_gradient_is_not_widened() -> None:
    """The same fringe over a gradient: the subject colour is not learnt from fur tinted by the backdrop."""
    assert iou_of(11, "gradient", "soft") > 0.955
