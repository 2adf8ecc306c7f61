"""``recipes/speaker/precompute.py``: the teacher's whole-signal embedding from its dense partials."""

from __future__ import annotations

import numpy as np


def test_mean_embedding_is_the_normalised_mean_of_the_partials(import_recipe) -> None:
    pc = import_recipe("speaker", "precompute")
    partials = np.array([[3.0, 0.0], [1.0, 0.0], [0.0, 4.0]], dtype=np.float32)
    # mean (4/3, 4/3), unit length: (1/sqrt 2, 1/sqrt 2), by hand
    got = pc.mean_embedding(partials)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [2 ** -0.5, 2 ** -0.5], atol=1e-7)


def test_one_partial_is_its_own_direction(import_recipe) -> None:
    pc = import_recipe("speaker", "precompute")
    np.testing.assert_allclose(pc.mean_embedding(np.array([[0.0, -2.0, 0.0]])), [0.0, -1.0, 0.0], atol=0)
