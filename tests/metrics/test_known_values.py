"""Hand-derived values and independent re-implementations of the metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voxguard import metrics as M


def test_sv_hand_example():
    # target 1, 2, 3; nontarget 0, 1.5 (worked by hand: best point rejects 0, 1, 1.5)
    tar, non = [1.0, 2.0, 3.0], [0.0, 1.5]
    assert M.sv_min_dcf(tar, non, p_target=0.01) == pytest.approx(1 / 3)
    assert M.sv_min_dcf(tar, non, p_target=0.05) == pytest.approx(1 / 3)
    # ROC (0,2/3) -> (0.5,2/3) is horizontal: crosses tpr = 1 - fpr at fpr = 1/3
    assert M.sv_eer(tar, non) == pytest.approx(1 / 3)
    out = M.sv_metrics(tar, non)
    assert set(out) == {"eer", "min_dcf_p01", "min_dcf_p05"}


def test_eer_legacy_hand_example():
    # bona 1, 2; spoof 0, 1.5 -> sorted 0s 1b 1.5s 2b; frr 0 0 .5 .5 1, far 1 .5 .5 0 0
    e, thr = M.eer([1.0, 2.0], [0.0, 1.5])
    assert e == pytest.approx(0.5)
    assert thr == pytest.approx(1.0)


def test_perfect_separation():
    bona, spoof = [5.0, 6.0, 7.0], [-7.0, -6.0, -5.0]
    assert M.eer(bona, spoof)[0] == 0.0
    assert M.eer_interp(bona, spoof)[0] == 0.0
    assert M.min_dcf(bona, spoof)[0] == 0.0
    assert M.min_cllr(bona, spoof) == 0.0


def test_cllr_uninformative_is_one_bit():
    assert M.cllr([0.0, 0.0], [0.0]) == pytest.approx(1.0)
    # bona 0, 2; spoof 1, 3: PAV pools everything to 0.5 -> LLR 0 -> 1 bit
    assert M.min_cllr([0.0, 2.0], [1.0, 3.0]) == pytest.approx(1.0)


def test_cllr_closed_form():
    bona, spoof = np.array([1.0, -0.5]), np.array([-2.0])
    expected = 0.5 * (np.mean(np.log2(1 + np.exp(-bona))) + np.log2(1 + np.exp(-2.0)))
    assert M.cllr(bona, spoof) == pytest.approx(expected, rel=1e-12)


def _isotonic_minmax(y: np.ndarray) -> np.ndarray:
    """O(n^2) isotonic regression from the min-max formula (no PAV)."""
    n = y.size
    c = np.r_[0.0, np.cumsum(y)]
    out = np.empty(n)
    for i in range(n):
        out[i] = max(
            min((c[k + 1] - c[j]) / (k + 1 - j) for k in range(i, n)) for j in range(i + 1)
        )
    return out


def _min_cllr_reference(bona: np.ndarray, spoof: np.ndarray) -> float:
    s = np.r_[bona, spoof]
    y = np.r_[np.ones(bona.size), np.zeros(spoof.size)][np.argsort(s, kind="mergesort")]
    p = _isotonic_minmax(y)
    prior_logodds = math.log(bona.size / spoof.size)
    total = [0.0, 0.0]
    for label, post in zip(y, p, strict=True):
        if label == 1:
            total[0] += (
                0.0
                if post == 1
                else -math.log2(post / (post + (1 - post) * math.exp(prior_logodds)))
            )
        else:
            q = (1 - post) / ((1 - post) + post * math.exp(-prior_logodds))
            total[1] += 0.0 if post == 0 else -math.log2(q)
    return 0.5 * (total[0] / bona.size + total[1] / spoof.size)


@pytest.mark.parametrize("seed", range(5))
def test_min_cllr_matches_independent_isotonic(seed):
    rng = np.random.default_rng(seed)
    bona, spoof = rng.normal(1.0, 1.0, 17), rng.normal(-0.5, 1.5, 23)
    assert M.min_cllr(bona, spoof) == pytest.approx(_min_cllr_reference(bona, spoof), rel=1e-9)


@pytest.mark.parametrize("use_scipy", [True, False])
@pytest.mark.parametrize("seed", range(5))
def test_pav_matches_minmax_formula(seed, use_scipy):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 40).astype(float)
    np.testing.assert_allclose(M.pav(y, use_scipy=use_scipy), _isotonic_minmax(y), rtol=1e-12)
    y = rng.normal(size=30)
    np.testing.assert_allclose(M.pav(y, use_scipy=use_scipy), _isotonic_minmax(y), rtol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_eer_interp_matches_scipy_brentq(seed):
    scipy_opt = pytest.importorskip("scipy.optimize")
    interp = pytest.importorskip("scipy.interpolate")
    rng = np.random.default_rng(seed)
    tar = np.round(rng.normal(1.0, 1.0, 300), 1)  # rounding makes many ties
    non = np.round(rng.normal(-1.0, 1.0, 500), 1)
    # sklearn roc_curve, rebuilt independently: thresholds at distinct scores, descending
    thr = np.unique(np.r_[tar, non])[::-1]
    tpr = np.r_[0.0, [(tar >= t).mean() for t in thr]]
    fpr = np.r_[0.0, [(non >= t).mean() for t in thr]]
    f = interp.interp1d(fpr, tpr)
    expected = scipy_opt.brentq(lambda x: 1.0 - x - f(x), 0.0, 1.0)
    assert M.eer_interp(tar, non)[0] == pytest.approx(expected, rel=1e-9)


def test_act_dcf_uses_bayes_threshold():
    thr = M.bayes_threshold()
    assert thr == pytest.approx(-math.log(0.95 / 0.5))
    # bona at the threshold is accepted (score < thr misses), spoof at the threshold is accepted
    a = M.act_dcf([thr], [thr])[0]
    assert a == pytest.approx(10 * 0.05 / 0.5)


def test_invalid_inputs():
    with pytest.raises(ValueError, match="empty"):
        M.eer([], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        M.min_dcf([np.nan], [1.0])
    with pytest.raises(ValueError, match="ties"):
        M.eer([1.0], [0.0], ties="grouped")


def test_sorted_trials_equals_stable_argsort_order():
    # the ASVspoof packages stable-argsort [positive, negative]; ties put positives first
    rng = np.random.default_rng(0)
    for _ in range(100):
        pos = rng.integers(-5, 5, rng.integers(1, 40)).astype(float)
        neg = rng.integers(-5, 5, rng.integers(1, 40)).astype(float)
        st = M.SortedTrials.build(pos, neg)
        scores = np.r_[pos, neg]
        labels = np.r_[np.ones(pos.size), np.zeros(neg.size)]
        order = np.argsort(scores, kind="mergesort")
        np.testing.assert_array_equal(st.scores, scores[order])
        np.testing.assert_array_equal(st.labels, labels[order])
