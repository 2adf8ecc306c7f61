"""SASV fusion: score sum, probability product, embedding-fusion MLP."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import voxguard
from voxguard.errors import VoxguardError
from voxguard.scoring.calibration import AffineCalibrator
from voxguard.scoring.fusion import log_probability_product, probability_product, score_sum


def test_score_sum_of_calibrated_llrs():
    asv_cal = AffineCalibrator(scale=2.0, offset=-1.0)
    cm_cal = AffineCalibrator(scale=0.5, offset=0.0)
    got = score_sum([1.0, 0.0], [4.0, -2.0], asv_cal, cm_cal)
    np.testing.assert_allclose(got, [(2 - 1) + 2.0, (0 - 1) - 1.0])


def test_probability_product_known_values():
    # LLR 0 at prior 0.5 is a posterior of 0.5 on each side.
    assert probability_product([0.0], [0.0])[0] == pytest.approx(0.25)
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    got = probability_product([1.0], [-2.0], asv_prior=0.9, cm_prior=0.5)[0]
    assert got == pytest.approx(sig(1.0 + math.log(9.0)) * sig(-2.0))
    assert log_probability_product([50.0], [-60.0])[0] == pytest.approx(-60.0, abs=1e-9)


def test_fusion_length_mismatch():
    with pytest.raises(VoxguardError, match="one CM score per ASV score"):
        score_sum([1.0, 2.0], [1.0])


def test_embedding_fusion_mlp_shapes_and_params():
    model = voxguard.create_model("sasv_fusion_mlp")
    n_in = 2 * 192 + 160
    expected = (n_in * 256 + 256) + (256 * 128 + 128) + (128 * 64 + 64) + (64 * 2 + 2)
    assert sum(p.numel() for p in model.parameters()) == expected
    enrol, test, cm = torch.randn(3, 192), torch.randn(3, 192), torch.randn(3, 160)
    logits = model(enrol, test, cm)
    assert logits.shape == (3, 2)
    torch.testing.assert_close(model.score(enrol, test, cm), logits[:, 1] - logits[:, 0])
    with pytest.raises(ValueError, match="embedding sizes"):
        model(enrol, test, torch.randn(3, 10))
