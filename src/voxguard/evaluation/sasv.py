"""SASV metrics of one score per trial, from arrays or a labeled score file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from numpy.typing import ArrayLike

from voxguard.data.scorefiles import LabeledScores, read_labeled_scores
from voxguard.errors import VoxguardError
from voxguard.metrics import ADCF_ASVSPOOF5, ADCF_DEFAULT, min_a_dcf, sasv_eers

__all__ = ["sasv_metrics", "evaluate_sasv_file"]


def sasv_metrics(target: ArrayLike, nontarget: ArrayLike, spoof: ArrayLike) -> dict[str, Any]:
    """min a-DCF (default and ASVspoof 5 track-2 costs) and SASV/SV/SPF-EER (fractions)."""
    a_dcf, a_thr = min_a_dcf(target, nontarget, spoof, ADCF_DEFAULT)
    out: dict[str, Any] = {
        "min_a_dcf": a_dcf,
        "min_a_dcf_threshold": a_thr,
        "min_a_dcf_asvspoof5": min_a_dcf(target, nontarget, spoof, ADCF_ASVSPOOF5)[0],
    }
    out.update(sasv_eers(target, nontarget, spoof))
    return out


def evaluate_sasv_file(path: str | Path) -> tuple[dict[str, Any], LabeledScores]:
    """Evaluate ``ENROLL TEST SCORE target|nontarget|spoof`` lines with :func:`sasv_metrics`."""
    data = read_labeled_scores(path)
    groups = {lab: data.by_label(lab) for lab in ("target", "nontarget", "spoof")}
    empty = [lab for lab, g in groups.items() if g.size == 0]
    if empty:
        raise VoxguardError(
            f"{path}: no {'/'.join(empty)} trials; SASV evaluation needs lines labeled target, "
            "nontarget and spoof (fourth column)"
        )
    metrics = sasv_metrics(groups["target"], groups["nontarget"], groups["spoof"])
    metrics.update({f"n_{lab}": int(g.size) for lab, g in groups.items()})
    metrics["n_errors"] = len(data.errors)
    return metrics, data
