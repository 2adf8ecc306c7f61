"""Log-likelihood-ratio cost: Cllr and minCllr via pool-adjacent-violators (numpy only).

Scores are read as natural-log LLRs (higher = bona fide / target); costs are in bits.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from voxguard.metrics.det import SortedTrials, as_scores

__all__ = ["cllr", "min_cllr", "min_cllr_from_sorted", "pav"]


def _neg_log_sigmoid(x: np.ndarray) -> np.ndarray:
    """``-ln(sigmoid(x))`` = ``ln(1 + exp(-x))``, overflow-safe, exact 0 at ``x = +inf``."""
    with np.errstate(over="ignore"):
        return np.logaddexp(0.0, -x)


def cllr(bonafide: ArrayLike, spoof: ArrayLike) -> float:
    """Cllr in bits: mean of the two classes' logarithmic costs at prior 0.5.

    ``Cllr = (mean(log2(1 + e^-s_bona)) + mean(log2(1 + e^s_spoof))) / 2``.
    """
    bona = as_scores(bonafide, "bona fide scores")
    spf = as_scores(spoof, "spoof scores")
    c_bona = float(np.mean(_neg_log_sigmoid(bona)))
    c_spoof = float(np.mean(_neg_log_sigmoid(-spf)))
    return (c_bona + c_spoof) / (2.0 * math.log(2.0))


def _pav_stack(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Classic stack-based PAV, O(n) amortised (used when scipy is not installed)."""
    means: list[float] = []
    wts: list[float] = []
    counts: list[int] = []
    for yi, wi in zip(y.tolist(), w.tolist(), strict=True):
        m, ww, c = yi, wi, 1
        while means and means[-1] > m:  # adjacent violators: pool them
            pm, pw = means.pop(), wts.pop()
            m = (pm * pw + m * ww) / (pw + ww)
            ww += pw
            c += counts.pop()
        means.append(m)
        wts.append(ww)
        counts.append(c)
    return np.repeat(np.asarray(means), counts)


def pav(y: ArrayLike, weights: ArrayLike | None = None, use_scipy: bool = True) -> np.ndarray:
    """Non-decreasing isotonic regression (pool adjacent violators).

    Runs of equal values are pooled first (this never changes the fit), then the weighted PAV
    runs in C through ``scipy.optimize.isotonic_regression`` when scipy is installed, or in a
    stack-based pure-Python loop over the pooled runs otherwise (same result).

    Args:
        y: values in the order of increasing score.
        weights: positive weight of each value (default 1).
        use_scipy: set False to force the pure-Python path.

    Returns:
        The fitted non-decreasing values, same shape as ``y``.
    """
    y = np.asarray(y, dtype=np.float64).ravel()
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != y.shape:
        raise ValueError(f"weights has shape {w.shape}, values have {y.shape}")
    if y.size == 0:
        return y.copy()
    start = np.r_[True, y[1:] != y[:-1]]
    gid = np.cumsum(start) - 1
    ys, ws, sizes = y[start], np.bincount(gid, weights=w), np.bincount(gid)
    fit = None
    if use_scipy:
        try:
            from scipy.optimize import isotonic_regression
        except ImportError:  # scipy is optional (< 1.12 or absent)
            pass
        else:
            fit = isotonic_regression(ys, weights=ws).x
    if fit is None:
        fit = _pav_stack(ys, ws)
    return np.repeat(fit, sizes)


def min_cllr(bonafide: ArrayLike, spoof: ArrayLike) -> float:
    """minCllr in bits: Cllr after the optimal monotone calibration (PAV on the pooled scores).

    Tied scores form one block (a calibration is a function of the score, so tied trials get the
    same LLR). The PAV posteriors are turned into LLRs by removing the empirical prior log-odds;
    posteriors of exactly 0 or 1 give infinite LLRs, whose cost is 0 on the correct side.
    Always ``min_cllr <= cllr``.
    """
    return min_cllr_from_sorted(SortedTrials.build(bonafide, spoof))


def min_cllr_from_sorted(st: SortedTrials) -> float:
    """:func:`min_cllr` of pre-sorted trials."""
    _, n_pos, n_all = st.groups()
    post = pav(n_pos / n_all, n_all)  # posterior P(bona fide | group)
    with np.errstate(divide="ignore"):
        llr = np.log(post) - np.log1p(-post) - math.log(st.n_pos / st.n_neg)
    n_neg = n_all - n_pos
    # a group with no trial of a class contributes nothing to it (avoids 0 * inf)
    has_pos, has_neg = n_pos > 0, n_neg > 0
    c_bona = np.sum(n_pos[has_pos] * _neg_log_sigmoid(llr[has_pos])) / st.n_pos
    c_spoof = np.sum(n_neg[has_neg] * _neg_log_sigmoid(-llr[has_neg])) / st.n_neg
    return float((c_bona + c_spoof) / (2.0 * math.log(2.0)))
