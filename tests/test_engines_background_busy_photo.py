"""Background removal of a subject pasted over a busy photo whose middle looks nothing like its border."""

from __future__ import annotations

import numpy as np
from PIL import Image

from bench.bg_eval_set import make_case
from lib.local_studio.engines import remove_background


def test_fluffy_animal_over_a_motorcycle_photo_is_found() -> None:
    """The animal in the middle is kept even though the photo around it is busier than the border."""
    case = make_case(23, "photo", "soft")
    alpha = np.asarray(remove_background(Image.fromarray(case.image)))[:, :, 3] > 127
    truth = case.alpha > 127
    assert (alpha & truth).sum() / (alpha | truth).sum() > 0.4
    assert alpha[truth].mean() > 0.5  # most of the animal is kept, not just a scrap of it


def test_person_running_out_of_the_bottom_edge_over_a_photo_is_found() -> None:
    """A person whose body is cut by the bottom edge is kept: that edge is not taken for backdrop."""
    case = make_case(18, "photo", "person")
    alpha = np.asarray(remove_background(Image.fromarray(case.image)))[:, :, 3] > 127
    truth = case.alpha > 127
    assert (alpha & truth).sum() / (alpha | truth).sum() > 0.75
    assert alpha[-20:][truth[-20:]].mean() > 0.8  # the body reaches the bottom edge


def test_photo_pieces_joined_by_a_thin_neck_are_not_kept() -> None:
    """Parts of the photo grown onto the subject through a thin neck are cut off; the subject stays."""
    for index, foreground in ((20, "product"), (23, "soft")):
        case = make_case(index, "photo", foreground)
        alpha = np.asarray(remove_background(Image.fromarray(case.image)))[:, :, 3] > 127
        truth = case.alpha > 127
        assert (alpha & ~truth).sum() / alpha.sum() < {20: 0.11, 23: 0.2}[index]  # little of the photo kept
        assert alpha[truth].mean() > {20: 0.99, 23: 0.75}[index]  # none of the subject lost
