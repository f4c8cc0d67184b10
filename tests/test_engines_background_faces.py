"""Background removal when the face detector fires on fur or texture: the cut-out is not bent into a body."""

from __future__ import annotations

import numpy as np
from PIL import Image

from bench.bg_eval_set import make_case
from lib.local_studio.engines import remove_background
from lib.local_studio.engines.people import find_faces


def iou_of(index: int, background_kind: str, foreground_kind: str) -> float:
    """IoU of the cut-out of one evaluation composite, after checking a face was (wrongly) found in it."""
    case = make_case(index, background_kind, foreground_kind)
    assert find_faces(case.image), "the composite no longer fools the face detector; pick another"
    alpha = np.asarray(remove_background(Image.fromarray(case.image)))[:, :, 3] > 127
    truth = case.alpha > 127
    return float((alpha & truth).sum() / max(int((alpha | truth).sum()), 1))


def test_fluffy_animal_on_a_gradient_is_not_taken_for_a_person() -> None:
    """A furry animal whose fur passes for a face keeps the gradient path's clean outline."""
    assert iou_of(11, "gradient", "soft") > 0.91


def test_horse_on_gravel_is_not_given_a_body_down_to_the_bottom_edge() -> None:
    """A horse whose flank passes for a profile face is not widened into a body reaching the bottom edge."""
    assert iou_of(13, "texture", "animal") > 0.88
