"""Property tests: minCllr <= Cllr, EER invariant to strictly monotone transforms."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from voxguard import metrics as M

scores = st.lists(
    st.floats(min_value=-20, max_value=20, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(bona=scores, spoof=scores)
def test_min_cllr_never_exceeds_cllr(bona, spoof):
    assert M.min_cllr(bona, spoof) <= M.cllr(bona, spoof) + 1e-12


# integer scores: many ties, and transformed values stay distinct in floating point
int_scores = st.lists(st.integers(-30, 30), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(bona=int_scores, spoof=int_scores, scale=st.floats(0.1, 10), shift=st.floats(-5, 5))
def test_eer_invariant_to_monotone_transform(bona, spoof, scale, shift):
    b, s = np.array(bona, dtype=float), np.array(spoof, dtype=float)

    def f(x):
        return np.arctan(x / 10) * scale + shift  # strictly increasing, keeps ties and order

    for ties in ("legacy", "interp"):
        e0 = M.eer(b, s, ties=ties)[0]
        assert abs(M.eer(f(b), f(s), ties=ties)[0] - e0) < 1e-12
    assert abs(M.min_dcf(f(b), f(s))[0] - M.min_dcf(b, s)[0]) < 1e-12
    assert abs(M.min_cllr(f(b), f(s)) - M.min_cllr(b, s)) < 1e-9
