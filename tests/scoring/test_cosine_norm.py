"""Cosine scoring and AS-norm against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from voxguard.errors import VoxguardError
from voxguard.scoring.cosine import all_pairs_trials, cosine_matrix, cosine_pairs, enroll_mean
from voxguard.scoring.norm import as_norm, as_norm_matrix

R = math.sqrt(0.5)
COHORT = np.array([[1.0, 0.0], [0.0, 1.0], [R, R]])


def test_cosine_known_values_and_torch_input():
    a = np.array([[3.0, 0.0], [1.0, 1.0]])
    b = torch.tensor([[0.0, 2.0], [5.0, 5.0]])
    np.testing.assert_allclose(cosine_matrix(a, b), [[0.0, R], [R, 1.0]], atol=1e-12)
    np.testing.assert_allclose(cosine_pairs(a, b.numpy()), [0.0, 1.0], atol=1e-12)


def test_enroll_mean_normalises_before_averaging():
    np.testing.assert_allclose(enroll_mean([[10.0, 0.0], [0.0, 1.0]]), [0.5, 0.5])


def test_all_pairs_trials():
    i, j, target = all_pairs_trials(["a", "a", "b"])
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 2)]
    assert target.tolist() == [True, False, False]


def test_as_norm_hand_example():
    # enroll e = x-axis, test t = y-axis, raw cosine 0. Cohort scores: e -> [1, 0, R], t -> [0, 1, R].
    # top-2 of each side: {1, R}: mean (1 + R) / 2, sample std (1 - R) / sqrt(2).
    mean, std = (1 + R) / 2, (1 - R) / math.sqrt(2)
    expected = 0.5 * ((0 - mean) / std + (0 - mean) / std)
    got = as_norm([0.0], [[1.0, 0.0]], [[0.0, 1.0]], COHORT, top_k=2)
    assert got[0] == pytest.approx(expected, rel=1e-12)
    # full cohort (S-norm): scores {1, 0, R}: mean (1 + R) / 3
    m3 = (1 + R) / 3
    s3 = math.sqrt(((1 - m3) ** 2 + m3**2 + (R - m3) ** 2) / 2)
    assert as_norm([0.0], [[1.0, 0.0]], [[0.0, 1.0]], COHORT, top_k=None)[0] == pytest.approx(
        -m3 / s3
    )


def test_as_norm_matrix_matches_trialwise():
    rng = np.random.default_rng(0)
    e, t, c = rng.normal(size=(3, 4)), rng.normal(size=(5, 4)), rng.normal(size=(20, 4))
    mat = as_norm_matrix(e, t, c, top_k=7)
    ii, jj = np.meshgrid(range(3), range(5), indexing="ij")
    raw = cosine_matrix(e, t)[ii.ravel(), jj.ravel()]
    np.testing.assert_allclose(mat.ravel(), as_norm(raw, e[ii.ravel()], t[jj.ravel()], c, top_k=7))


def test_bad_inputs_are_clear_errors():
    with pytest.raises(VoxguardError, match="top_k"):
        as_norm([0.0], [[1.0, 0.0]], [[0.0, 1.0]], COHORT, top_k=10)
    with pytest.raises(VoxguardError, match="sizes differ"):
        cosine_matrix(np.ones((1, 3)), np.ones((1, 2)))
    with pytest.raises(VoxguardError, match="NaN"):
        cosine_matrix(np.array([[np.nan, 1.0]]), np.ones((1, 2)))
