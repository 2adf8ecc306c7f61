"""Detection cost functions: minimum and actual DCF (numpy only).

Defaults follow the ASVspoof 5 CM track (also used for In-the-Wild): ``p_spoof`` 0.05,
``c_miss`` 1, ``c_fa`` 10; the cost is normalised by the cost of the best trivial system,
``min(c_miss * (1 - p_spoof), c_fa * p_spoof)``. For speaker verification use
:func:`voxguard.metrics.sv.sv_min_dcf` (target prior instead of spoof prior).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from voxguard.metrics.det import DetCurve, as_scores, det_curve

__all__ = ["min_dcf", "min_dcf_from_det", "act_dcf", "bayes_threshold"]


def _norm(p_spoof: float, c_miss: float, c_fa: float) -> float:
    if not 0.0 < p_spoof < 1.0:
        raise ValueError(f"p_spoof must be in (0, 1), got {p_spoof}")
    if c_miss <= 0 or c_fa <= 0:
        raise ValueError(f"costs must be positive, got c_miss={c_miss}, c_fa={c_fa}")
    return min(c_miss * (1.0 - p_spoof), c_fa * p_spoof)


def bayes_threshold(p_spoof: float = 0.05, c_miss: float = 1.0, c_fa: float = 10.0) -> float:
    """Bayes decision threshold on LLRs: ``-ln(c_miss (1 - p_spoof) / (c_fa p_spoof))``."""
    _norm(p_spoof, c_miss, c_fa)
    return -math.log(c_miss * (1.0 - p_spoof) / (c_fa * p_spoof))


def min_dcf(
    bonafide: ArrayLike,
    spoof: ArrayLike,
    p_spoof: float = 0.05,
    c_miss: float = 1.0,
    c_fa: float = 10.0,
) -> tuple[float, float]:
    """Normalised minimum DCF over all thresholds of the ASVspoof DET curve.

    Args:
        bonafide: bona fide (positive) scores, higher = bona fide.
        spoof: spoof (negative) scores.
        p_spoof: prior of the negative class.
        c_miss: cost of rejecting a bona fide trial.
        c_fa: cost of accepting a spoof.

    Returns:
        ``(min_dcf, threshold)`` (the first threshold reaching the minimum).
    """
    return min_dcf_from_det(det_curve(bonafide, spoof), p_spoof, c_miss, c_fa)


def min_dcf_from_det(
    det: DetCurve, p_spoof: float = 0.05, c_miss: float = 1.0, c_fa: float = 10.0
) -> tuple[float, float]:
    """:func:`min_dcf` of a precomputed DET curve."""
    norm = _norm(p_spoof, c_miss, c_fa)
    cost = c_miss * (1.0 - p_spoof) * det.frr + c_fa * p_spoof * det.far
    i = int(np.argmin(cost))
    return float(cost[i] / norm), float(det.thresholds[i])


def act_dcf(
    bonafide: ArrayLike,
    spoof: ArrayLike,
    p_spoof: float = 0.05,
    c_miss: float = 1.0,
    c_fa: float = 10.0,
) -> tuple[float, float]:
    """Normalised actual DCF: scores read as natural-log LLRs, Bayes threshold applied.

    A bona fide trial is missed when ``score < threshold``; a spoof is accepted when
    ``score >= threshold``.

    Returns:
        ``(act_dcf, threshold)``.
    """
    norm = _norm(p_spoof, c_miss, c_fa)
    bona = as_scores(bonafide, "bona fide scores")
    spf = as_scores(spoof, "spoof scores")
    thr = bayes_threshold(p_spoof, c_miss, c_fa)
    p_miss = np.count_nonzero(bona < thr) / bona.size
    p_fa = np.count_nonzero(spf >= thr) / spf.size
    cost = c_miss * (1.0 - p_spoof) * p_miss + c_fa * p_spoof * p_fa
    return float(cost / norm), thr
