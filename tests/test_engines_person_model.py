"""The person segmentation model: what it sees, that it is safe to share between engine jobs, that the
cut-out falls back without it, and that it keeps the parts of a person colour alone loses."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from bench.bg_real_photos import load_photo
from lib.local_studio.engines import background, people
from lib.local_studio.engines.bundled_models import BundledModel
from lib.local_studio.engines.people import person_probability
from tests.cutout_scores import cut_out, iou


def test_the_model_sees_the_person_and_not_the_flag_behind_her() -> None:
    astronaut = load_photo("astronaut").image
    probability = person_probability(astronaut)
    assert probability is not None
    assert probability.shape == astronaut.shape[:2]
    assert probability[300, 200] > 0.9  # her suit
    assert probability[100, 160] > 0.9  # her face
    assert probability[:120, :60].mean() < 0.1  # the flag in the top-left corner


def test_the_model_sees_no_person_in_the_rocket_photo() -> None:
    probability = person_probability(load_photo("rocket").image)
    assert probability is not None
    assert (probability > 0.5).mean() < 0.01


def test_parallel_engine_jobs_get_the_same_answers_as_one_at_a_time() -> None:
    """The Local Studio runs two engine jobs at once; they share one network object."""
    images = [load_photo("astronaut").image, load_photo("camera").image] * 4
    alone = [person_probability(image) for image in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(person_probability, images))
    for expected, got in zip(alone, together, strict=True):
        assert expected is not None and got is not None
        np.testing.assert_array_equal(expected, got)


def test_without_the_model_the_cut_out_still_works_from_the_faces(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "unreadable.onnx").write_bytes(b"not a model")
    for missing in (BundledModel(tmp_path / "absent.onnx"), BundledModel(tmp_path / "unreadable.onnx")):
        monkeypatch.setattr(people, "_PERSON_MODEL", missing)
        assert person_probability(load_photo("astronaut").image) is None
    photo = load_photo("astronaut")
    assert iou(cut_out(photo.image), photo.alpha) > 0.88


def test_the_astronaut_keeps_the_dark_collar_ring_round_her_neck() -> None:
    """Colour alone gave the black ring to the backdrop (82 % of it kept); the model keeps it whole,
    and the cut-out takes no more of the backdrop for it."""
    photo = load_photo("astronaut")
    alpha = cut_out(photo.image)
    kept, truth = alpha > 127, photo.alpha > 127
    collar = (slice(160, 270), slice(114, 257))
    assert kept[collar][truth[collar]].mean() > 0.95
    assert iou(alpha, photo.alpha) > 0.915
    assert kept[~truth].mean() < 0.06


def test_faces_are_looked_for_only_where_the_model_sees_someone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The face cascades are the dearest step of a cut-out; a photo with no one in it skips them."""
    searched: list[tuple[int, ...]] = []
    find_faces = background.find_faces

    def counting_find_faces(rgb: np.ndarray) -> list[people.Face]:
        searched.append(rgb.shape)
        return find_faces(rgb)

    monkeypatch.setattr(background, "find_faces", counting_find_faces)
    cut_out(load_photo("rocket").image)
    assert searched == []
    cut_out(load_photo("camera").image)
    assert len(searched) == 1
