"""Architecture-agnostic detection cost function, a-DCF (Shim et al., Odyssey 2024; numpy only).

One SASV score per trial; three trial classes: target (bona fide, same speaker), non-target
(bona fide, other speaker) and spoof. ``a-DCF(s) = Cmiss Ptrg Pmiss(s) + Cfa_asv Pnontrg
Pfa_non(s) + Cfa_cm Pspf Pfa_spf(s)``, normalised by the cheaper of accepting or rejecting all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from voxguard.metrics.det import as_scores

__all__ = ["ADcfCost", "ADCF_DEFAULT", "ADCF_ASVSPOOF5", "a_dcf_curve", "min_a_dcf"]


@dataclass(frozen=True)
class ADcfCost:
    """a-DCF priors and costs."""

    p_trg: float = 0.9
    p_nontrg: float = 0.05
    p_spf: float = 0.05
    c_miss: float = 1.0
    c_fa_asv: float = 10.0
    c_fa_cm: float = 20.0


#: The a-DCF library default cost model.
ADCF_DEFAULT = ADcfCost()
#: ASVspoof 5 track 2 (SASV) cost model.
ADCF_ASVSPOOF5 = ADcfCost(p_trg=0.9405, p_nontrg=0.0095, p_spf=0.05, c_fa_asv=10.0, c_fa_cm=10.0)


def a_dcf_curve(
    target: ArrayLike, nontarget: ArrayLike, spoof: ArrayLike, cost: ADcfCost = ADCF_DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised a-DCF at every threshold of the stable-sorted (untied) score list.

    Returns:
        ``(a_dcf, thresholds)``; point 0 accepts everything (threshold ``min - 0.001``).
    """
    tar = as_scores(target, "target scores")
    non = as_scores(nontarget, "non-target scores")
    spf = as_scores(spoof, "spoof scores")
    scores = np.concatenate([tar, non, spf])
    labels = np.concatenate([np.ones(tar.size), np.zeros(non.size), np.full(spf.size, 2.0)])
    order = np.argsort(scores, kind="mergesort")
    labels = labels[order]
    frr = np.r_[0.0, np.cumsum(labels == 1) / tar.size]
    far_asv = np.r_[1.0, (non.size - np.cumsum(labels == 0)) / non.size]
    far_cm = np.r_[1.0, (spf.size - np.cumsum(labels == 2)) / spf.size]
    thresholds = np.r_[scores[order[0]] - 0.001, scores[order]]
    dcf = (
        cost.c_miss * cost.p_trg * frr
        + cost.c_fa_asv * cost.p_nontrg * far_asv
        + cost.c_fa_cm * cost.p_spf * far_cm
    )
    accept_all = cost.c_fa_asv * cost.p_nontrg + cost.c_fa_cm * cost.p_spf
    reject_all = cost.c_miss * cost.p_trg
    return dcf / min(accept_all, reject_all), thresholds


def min_a_dcf(
    target: ArrayLike, nontarget: ArrayLike, spoof: ArrayLike, cost: ADcfCost = ADCF_DEFAULT
) -> tuple[float, float]:
    """Minimum normalised a-DCF and its threshold (first minimum).

    Args:
        target: SASV scores of target trials (higher = accept).
        nontarget: scores of bona fide non-target trials.
        spoof: scores of spoofed trials.
        cost: priors and costs (:data:`ADCF_DEFAULT` or :data:`ADCF_ASVSPOOF5`).
    """
    dcf, thr = a_dcf_curve(target, nontarget, spoof, cost)
    i = int(np.argmin(dcf))
    return float(dcf[i]), float(thr[i])
