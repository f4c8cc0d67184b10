"""Background removal beside shadows that match the subject's own shading on a plain backdrop."""

from __future__ import annotations

import numpy as np
from PIL import Image

from bench.bg_eval_set import make_case
from lib.local_studio.engines import remove_background


def test_grey_bottle_keeps_its_shaded_sides_beside_its_shadow() -> None:
    """A silver bottle on a grey studio backdrop keeps the darker sides that match its drop shadow."""
    case = make_case(2, "studio", "product")
    alpha = np.asarray(remove_background(Image.fromarray(case.image)))[:, :, 3] > 127
    truth = case.alpha > 127
    shadow = (case.background.astype(np.float32).mean(2) < 150) & ~truth
    assert (alpha & truth).sum() / (alpha | truth).sum() > 0.8
    assert alpha[shadow].mean() < 0.05  # the shadow itself still goes
