"""Evaluation metrics (numpy only; never imports torch).

Score polarity everywhere: higher = bona fide / target. All rates and costs are fractions.
Every function is vectorised (one sort per call) and pinned by known-value tests against the
official ASVspoof 5 evaluation package and the SASV 2022 baseline.
"""

from voxguard.metrics.adcf import ADCF_ASVSPOOF5, ADCF_DEFAULT, ADcfCost, a_dcf_curve, min_a_dcf
from voxguard.metrics.cllr import cllr, min_cllr, pav
from voxguard.metrics.dcf import act_dcf, bayes_threshold, min_dcf
from voxguard.metrics.det import DetCurve, SortedTrials, det_curve, eer, eer_interp, roc_points
from voxguard.metrics.sasv import sasv_eers
from voxguard.metrics.sv import sv_eer, sv_metrics, sv_min_dcf
from voxguard.metrics.tdcf import (
    ASVSPOOF5_ASV_RATES,
    AsvRates,
    asv_error_rates,
    min_tdcf_legacy,
    min_tdcf_revised,
)

__all__ = [
    "ADCF_ASVSPOOF5",
    "ADCF_DEFAULT",
    "ADcfCost",
    "ASVSPOOF5_ASV_RATES",
    "AsvRates",
    "DetCurve",
    "SortedTrials",
    "a_dcf_curve",
    "act_dcf",
    "asv_error_rates",
    "bayes_threshold",
    "cllr",
    "det_curve",
    "eer",
    "eer_interp",
    "min_a_dcf",
    "min_cllr",
    "min_dcf",
    "min_tdcf_legacy",
    "min_tdcf_revised",
    "pav",
    "roc_points",
    "sasv_eers",
    "sv_eer",
    "sv_metrics",
    "sv_min_dcf",
]
