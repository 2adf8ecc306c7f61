"""Speaker-verification metrics: EER and minDCF at target priors 0.01 / 0.05 (numpy only).

Conventions (VoxCeleb / NIST SRE style): ``c_miss = c_fa = 1``; minDCF normalised by
``min(c_miss p_target, c_fa (1 - p_target))``; EER tie-aware and interpolated
(:func:`voxguard.metrics.det.eer_interp`, the sklearn-ROC convention used by the SASV baseline).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from voxguard.metrics.det import det_curve, eer_interp

__all__ = ["sv_eer", "sv_min_dcf", "sv_metrics"]


def sv_eer(target: ArrayLike, nontarget: ArrayLike) -> float:
    """Speaker-verification EER (fraction), tie-aware interpolated."""
    return eer_interp(target, nontarget)[0]


def sv_min_dcf(
    target: ArrayLike,
    nontarget: ArrayLike,
    p_target: float = 0.01,
    c_miss: float = 1.0,
    c_fa: float = 1.0,
) -> float:
    """Normalised minimum DCF of speaker verification.

    Args:
        target: scores of same-speaker trials (higher = same speaker).
        nontarget: scores of different-speaker trials.
        p_target: prior of a target trial (0.01 for VoxCeleb, 0.05 also common).
        c_miss: cost of a miss.
        c_fa: cost of a false alarm.
    """
    if not 0.0 < p_target < 1.0:
        raise ValueError(f"p_target must be in (0, 1), got {p_target}")
    det = det_curve(target, nontarget)
    cost = c_miss * p_target * det.frr + c_fa * (1.0 - p_target) * det.far
    return float(np.min(cost) / min(c_miss * p_target, c_fa * (1.0 - p_target)))


def sv_metrics(target: ArrayLike, nontarget: ArrayLike) -> dict[str, float]:
    """EER and minDCF at p_target 0.01 and 0.05 as one dict (fractions)."""
    return {
        "eer": sv_eer(target, nontarget),
        "min_dcf_p01": sv_min_dcf(target, nontarget, 0.01),
        "min_dcf_p05": sv_min_dcf(target, nontarget, 0.05),
    }
