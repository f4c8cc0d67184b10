"""The salient-object model: it completes a product whose colour matches the backdrop, is believed only
where it agrees with the colour cut-out (never for a wheel's openings), and is optional."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.bg_eval_set import make_case
from lib.local_studio.engines import background, salient
from lib.local_studio.engines.bundled_models import BundledModel
from lib.local_studio.engines.salient import salient_probability
from tests.cutout_scores import cut_out, iou


def test_the_model_sees_the_bottle_and_not_the_backdrop() -> None:
    case = make_case(2, "studio", "product")
    probability = salient_probability(case.image)
    assert probability is not None and probability.shape == case.alpha.shape
    truth = case.alpha > 127
    assert probability[truth].mean() > 0.9
    assert probability[~truth].mean() < 0.05


def test_a_grey_bottle_on_a_grey_backdrop_keeps_its_sides() -> None:
    """Colour alone lost the bottle's sides where their shading matched the backdrop (IoU 0.84)."""
    case = make_case(2, "studio", "product")
    assert iou(cut_out(case.image), case.alpha) > 0.95


def test_a_bicycle_keeps_its_open_wheels_though_the_model_fills_them() -> None:
    case = make_case(4, "studio", "thin")
    probability = salient_probability(case.image)
    assert probability is not None
    truth = case.alpha > 127
    assert (probability > 0.5).sum() > 2 * truth.sum()  # the model's wheels are discs
    assert iou(cut_out(case.image), case.alpha) > 0.93  # the cut-out's are not


def test_without_the_model_the_colour_cut_out_stands(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(salient, "_MODEL", BundledModel(tmp_path / "absent.onnx"))
    case = make_case(2, "studio", "product")
    assert salient_probability(case.image) is None
    assert background._agreeing_salient(case.image.astype(np.float32), case.alpha > 127) is None
    assert 0.8 < iou(cut_out(case.image), case.alpha) < 0.9  # the colour cut-out alone, sides lost
