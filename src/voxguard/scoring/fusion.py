"""Score-level SASV fusion of a countermeasure (CM) and a speaker-verification (ASV) score.

Both scores are first calibrated to LLRs (:class:`voxguard.scoring.calibration.AffineCalibrator`,
natural log, higher = bona fide / target). Then:

- :func:`score_sum`: ``llr_asv + llr_cm`` (accept when ``>= 0`` for equal-cost Bayes decisions);
- :func:`probability_product`: ``P(target | x) * P(bona fide | x)`` from each LLR and its prior
  (accept when ``>= 0.25`` means both at 0.5); :func:`log_probability_product` is its log,
  better for metrics since it does not saturate.

Evaluate fused scores with :func:`voxguard.evaluation.sasv.sasv_metrics` (a-DCF, SASV-EER).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from voxguard.errors import VoxguardError


def _pair(asv: ArrayLike, cm: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(asv, dtype=np.float64).ravel()
    c = np.asarray(cm, dtype=np.float64).ravel()
    if a.shape != c.shape:
        raise VoxguardError(f"SASV fusion needs one CM score per ASV score ({a.size} vs {c.size})")
    return a, c


def _calibrate(scores: np.ndarray, calibrator: Any | None) -> np.ndarray:
    return (
        scores if calibrator is None else np.asarray(calibrator.transform(scores), dtype=np.float64)
    )


def score_sum(
    asv: ArrayLike,
    cm: ArrayLike,
    asv_calibrator: Any | None = None,
    cm_calibrator: Any | None = None,
) -> np.ndarray:
    """Sum of calibrated LLRs; pass calibrators to map raw scores (else they must be LLRs)."""
    a, c = _pair(asv, cm)
    return _calibrate(a, asv_calibrator) + _calibrate(c, cm_calibrator)


def log_probability_product(
    asv: ArrayLike,
    cm: ArrayLike,
    asv_calibrator: Any | None = None,
    cm_calibrator: Any | None = None,
    asv_prior: float = 0.5,
    cm_prior: float = 0.5,
) -> np.ndarray:
    """``log P(target | x) + log P(bona fide | x)`` (numerically stable)."""
    from voxguard.scoring.calibration import logit

    a, c = _pair(asv, cm)
    la = _calibrate(a, asv_calibrator) + logit(asv_prior)
    lc = _calibrate(c, cm_calibrator) + logit(cm_prior)
    return -np.logaddexp(0.0, -la) - np.logaddexp(0.0, -lc)


def probability_product(
    asv: ArrayLike,
    cm: ArrayLike,
    asv_calibrator: Any | None = None,
    cm_calibrator: Any | None = None,
    asv_prior: float = 0.5,
    cm_prior: float = 0.5,
) -> np.ndarray:
    """``P(target | x) * P(bona fide | x)`` from calibrated LLRs and the priors."""
    return np.exp(
        log_probability_product(asv, cm, asv_calibrator, cm_calibrator, asv_prior, cm_prior)
    )


def fit_calibrators(
    asv: ArrayLike,
    asv_labels: ArrayLike,
    cm: ArrayLike,
    cm_labels: ArrayLike,
    asv_prior: float = 0.5,
    cm_prior: float = 0.5,
) -> tuple[Any, Any]:
    """Fit one :class:`AffineCalibrator` per subsystem on development scores and labels (1 = positive)."""
    from voxguard.scoring.calibration import AffineCalibrator

    return (
        AffineCalibrator().fit(asv, asv_labels, prior=asv_prior),
        AffineCalibrator().fit(cm, cm_labels, prior=cm_prior),
    )
