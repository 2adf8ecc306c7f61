"""SASV 2022 equal error rates (numpy only).

All three use the SASV 2022 baseline convention (sklearn ROC + brentq interpolation,
:func:`voxguard.metrics.det.eer_interp`) on one score per trial:

- SASV-EER: target vs non-target + spoof,
- SV-EER: target vs non-target,
- SPF-EER: target vs spoof.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from voxguard.metrics.det import as_scores, eer_interp

__all__ = ["sasv_eers"]


def sasv_eers(target: ArrayLike, nontarget: ArrayLike, spoof: ArrayLike) -> dict[str, float]:
    """SASV-, SV- and SPF-EER (fractions) of one score per trial.

    Returns:
        ``{"sasv_eer": ..., "sv_eer": ..., "spf_eer": ...}``.
    """
    tar = as_scores(target, "target scores")
    non = as_scores(nontarget, "non-target scores")
    spf = as_scores(spoof, "spoof scores")
    return {
        "sasv_eer": eer_interp(tar, np.concatenate([non, spf]))[0],
        "sv_eer": eer_interp(tar, non)[0],
        "spf_eer": eer_interp(tar, spf)[0],
    }
