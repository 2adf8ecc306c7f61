"""Tandem detection cost function (t-DCF) of a CM in front of an ASV system (numpy only).

Two forms, both minimised over the CM threshold on the ASVspoof DET curve
(:func:`voxguard.metrics.det.det_curve`):

- :func:`min_tdcf_legacy` — ASVspoof 2019 (Kinnunen et al. 2018), separate ASV and CM costs.
- :func:`min_tdcf_revised` — ASVspoof 2021 / ASVspoof 5 form (Kinnunen et al. 2020).

ASV error rates come either from the organisers (e.g. :data:`ASVSPOOF5_ASV_RATES`) or from your
own ASV scores through :func:`asv_error_rates` (threshold = the ASV EER threshold).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from voxguard.metrics.det import DetCurve, as_scores, det_curve, eer

__all__ = [
    "AsvRates",
    "ASVSPOOF5_ASV_RATES",
    "asv_error_rates",
    "min_tdcf_legacy",
    "min_tdcf_revised",
    "min_tdcf_revised_from_det",
]


@dataclass(frozen=True)
class AsvRates:
    """Error rates of the ASV system at its operating threshold (fractions).

    Attributes:
        pfa: false-alarm rate on zero-effort non-targets.
        pmiss: miss rate on targets.
        pfa_spoof: false-alarm (acceptance) rate on spoofs; ``1 - pmiss_spoof``.
    """

    pfa: float
    pmiss: float
    pfa_spoof: float


#: ASV rates supplied by the ASVspoof 5 organisers for the CM-track t-DCF.
ASVSPOOF5_ASV_RATES = AsvRates(
    pfa=0.01881016557566423, pmiss=0.01880141010575793, pfa_spoof=0.4607082907604729
)


def asv_error_rates(
    target: ArrayLike, nontarget: ArrayLike, spoof: ArrayLike, threshold: float | None = None
) -> AsvRates:
    """ASV error rates at ``threshold`` (default: the legacy ASV EER threshold, target vs non).

    A trial is accepted when ``score >= threshold``.
    """
    tar = as_scores(target, "ASV target scores")
    non = as_scores(nontarget, "ASV non-target scores")
    spf = as_scores(spoof, "ASV spoof scores")
    thr = eer(tar, non)[1] if threshold is None else float(threshold)
    pfa = np.count_nonzero(non >= thr) / non.size
    pmiss = np.count_nonzero(tar < thr) / tar.size
    pmiss_spoof = np.count_nonzero(spf < thr) / spf.size
    return AsvRates(pfa=float(pfa), pmiss=float(pmiss), pfa_spoof=float(1.0 - pmiss_spoof))


def min_tdcf_legacy(
    bonafide: ArrayLike,
    spoof: ArrayLike,
    asv: AsvRates,
    p_spoof: float = 0.05,
    p_tar: float | None = None,
    p_non: float | None = None,
    c_miss_asv: float = 1.0,
    c_fa_asv: float = 10.0,
    c_miss_cm: float = 1.0,
    c_fa_cm: float = 10.0,
) -> tuple[float, float]:
    """Minimum normalised ASVspoof 2019 t-DCF.

    ``t-DCF(s) = C1 Pmiss_cm(s) + C2 Pfa_cm(s)``, normalised by ``min(C1, C2)``, with
    ``C1 = Ptar (Cmiss_cm - Cmiss_asv Pmiss_asv) - Pnon Cfa_asv Pfa_asv`` and
    ``C2 = Cfa_cm Pspoof Pfa_spoof_asv``. ``p_tar``/``p_non`` default to 0.99 / 0.01 of
    ``1 - p_spoof``.

    Returns:
        ``(min_tdcf, cm_threshold)``.
    """
    p_tar = (1.0 - p_spoof) * 0.99 if p_tar is None else p_tar
    p_non = (1.0 - p_spoof) * 0.01 if p_non is None else p_non
    c1 = p_tar * (c_miss_cm - c_miss_asv * asv.pmiss) - p_non * c_fa_asv * asv.pfa
    c2 = c_fa_cm * p_spoof * asv.pfa_spoof
    if c1 <= 0 or c2 <= 0:
        raise ValueError(
            f"t-DCF weights must be positive (C1={c1:.4g}, C2={c2:.4g}): the ASV rates {asv} "
            "make the CM irrelevant; check the ASV scores and cost parameters"
        )
    det = det_curve(bonafide, spoof)
    tdcf = (c1 * det.frr + c2 * det.far) / min(c1, c2)
    i = int(np.argmin(tdcf))
    return float(tdcf[i]), float(det.thresholds[i])


def min_tdcf_revised(
    bonafide: ArrayLike,
    spoof: ArrayLike,
    asv: AsvRates = ASVSPOOF5_ASV_RATES,
    p_tar: float = 0.9405,
    p_non: float = 0.0095,
    p_spoof: float = 0.05,
    c_miss: float = 1.0,
    c_fa: float = 10.0,
    c_fa_spoof: float = 10.0,
) -> tuple[float, float]:
    """Minimum normalised revised t-DCF (ASVspoof 2021 / ASVspoof 5).

    ``t-DCF(s) = C0 + C1 Pmiss_cm(s) + C2 Pfa_cm(s)``, normalised by ``C0 + min(C1, C2)``, with
    ``C0 = Ptar Cmiss Pmiss_asv + Pnon Cfa Pfa_asv``, ``C1 = Ptar Cmiss - C0`` and
    ``C2 = Cfa_spoof Pspoof Pfa_spoof_asv``.

    Returns:
        ``(min_tdcf, cm_threshold)``.
    """
    return min_tdcf_revised_from_det(
        det_curve(bonafide, spoof), asv, p_tar, p_non, p_spoof, c_miss, c_fa, c_fa_spoof
    )


def min_tdcf_revised_from_det(
    det: DetCurve,
    asv: AsvRates = ASVSPOOF5_ASV_RATES,
    p_tar: float = 0.9405,
    p_non: float = 0.0095,
    p_spoof: float = 0.05,
    c_miss: float = 1.0,
    c_fa: float = 10.0,
    c_fa_spoof: float = 10.0,
) -> tuple[float, float]:
    """:func:`min_tdcf_revised` of a precomputed CM DET curve."""
    c0 = p_tar * c_miss * asv.pmiss + p_non * c_fa * asv.pfa
    c1 = p_tar * c_miss - c0
    c2 = c_fa_spoof * p_spoof * asv.pfa_spoof
    if c1 < 0 or c2 < 0 or c0 + min(c1, c2) <= 0:
        raise ValueError(
            f"t-DCF weights must be non-negative (C0={c0:.4g}, C1={c1:.4g}, C2={c2:.4g}): "
            f"check the ASV rates {asv} and cost parameters"
        )
    tdcf = (c0 + c1 * det.frr + c2 * det.far) / (c0 + min(c1, c2))
    i = int(np.argmin(tdcf))
    return float(tdcf[i]), float(det.thresholds[i])
