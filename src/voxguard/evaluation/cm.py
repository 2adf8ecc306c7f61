"""All CM metrics of one system, from arrays or from score + key files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from voxguard.data.scorefiles import (
    CMKeys,
    ScoreList,
    read_asv_scores_2019,
    read_cm_keys,
    read_cm_scores,
    read_labeled_scores,
)
from voxguard.errors import VoxguardError
from voxguard.metrics import (
    ASVSPOOF5_ASV_RATES,
    AsvRates,
    act_dcf,
    asv_error_rates,
    cllr,
    min_tdcf_legacy,
)
from voxguard.metrics.cllr import min_cllr_from_sorted
from voxguard.metrics.dcf import min_dcf_from_det
from voxguard.metrics.det import SortedTrials, eer_from_det, eer_interp_from_roc, roc_from_sorted
from voxguard.metrics.tdcf import min_tdcf_revised_from_det

__all__ = ["JoinedCM", "join_cm", "cm_metrics", "evaluate_cm_files", "read_asv_rates"]


@dataclass
class JoinedCM:
    """Scores aligned with their keys (only ids present in both)."""

    ids: list[str]
    scores: np.ndarray
    labels: np.ndarray
    attacks: list[str]
    conditions: list[str]
    n_unscored: int
    errors: dict[str, str]


def join_cm(scores: ScoreList, keys: CMKeys) -> JoinedCM:
    """Align scores with keys by id.

    Keys without a score are counted in ``n_unscored`` (e.g. a scored subset of a protocol); a
    scored id absent from the keys is an error, since its label is unknown.
    """
    index = {uid: i for i, uid in enumerate(keys.ids)}
    rows = np.fromiter(
        (index.get(u, -1) for u in scores.ids), dtype=np.int64, count=len(scores.ids)
    )
    if (rows < 0).any():
        missing = [u for u, r in zip(scores.ids, rows, strict=True) if r < 0]
        raise VoxguardError(
            f"{len(missing)} scored ids are not in the keys {keys.path or ''} (first: "
            f"{missing[:3]}); check that the score and key files belong to the same protocol"
        )
    labels = keys.labels[rows]
    if not (labels == 1).any() or not (labels == 0).any():
        raise VoxguardError(
            f"the scored trials need both classes (bona fide {int((labels == 1).sum())}, "
            f"spoof {int((labels == 0).sum())}); check the keys and --phase"
        )
    n_unscored = len(keys.ids) - len(rows) - sum(1 for u in scores.errors if u in index)
    return JoinedCM(
        ids=list(scores.ids),
        scores=scores.scores,
        labels=labels,
        attacks=[keys.attacks[r] for r in rows],
        conditions=[keys.conditions[r] for r in rows],
        n_unscored=max(n_unscored, 0),
        errors=dict(scores.errors),
    )


def cm_metrics(
    bonafide: ArrayLike,
    spoof: ArrayLike,
    p_spoof: float = 0.05,
    c_miss: float = 1.0,
    c_fa: float = 10.0,
    asv: AsvRates | None = ASVSPOOF5_ASV_RATES,
) -> dict[str, Any]:
    """EER, minDCF, actDCF, Cllr, minCllr and the revised t-DCF of one CM (fractions).

    Args:
        bonafide: bona fide scores (higher = bona fide; read as LLRs for actDCF / Cllr).
        spoof: spoof scores.
        p_spoof, c_miss, c_fa: DCF parameters (ASVspoof 5 defaults).
        asv: ASV error rates for the t-DCF (default: ASVspoof 5 organiser rates; None skips it).
    """
    bona = np.asarray(bonafide, dtype=np.float64)
    spf = np.asarray(spoof, dtype=np.float64)
    st = SortedTrials.build(bona, spf)  # one sort shared by every threshold-sweeping metric
    det = st.det()
    e, e_thr = eer_from_det(det)
    out: dict[str, Any] = {
        "eer": e,
        "eer_threshold": e_thr,
        "min_dcf": min_dcf_from_det(det, p_spoof, c_miss, c_fa)[0],
        "act_dcf": act_dcf(bona, spf, p_spoof, c_miss, c_fa)[0],
        "cllr": cllr(bona, spf),
        "min_cllr": min_cllr_from_sorted(st),
        "eer_interp": eer_interp_from_roc(*roc_from_sorted(st))[0],
    }
    if asv is not None:
        out["min_tdcf"] = min_tdcf_revised_from_det(det, asv)[0]
    out["n_bonafide"] = int(bona.size)
    out["n_spoof"] = int(spf.size)
    return out


def evaluate_cm_files(
    scores_path: str | Path,
    keys_path: str | Path,
    score_format: str = "auto",
    key_format: str = "auto",
    phase: str | None = None,
    asv_scores_path: str | Path | None = None,
) -> tuple[dict[str, Any], JoinedCM]:
    """Read a score file and its keys and compute :func:`cm_metrics`.

    Args:
        asv_scores_path: optional ASV scores of your own system (ASVspoof 2019 ``SRC KEY SCORE``
            or ``ENROLL TEST SCORE target|nontarget|spoof``); then ``min_tdcf`` uses its error
            rates at its EER threshold and ``min_tdcf_legacy`` (2019 form) is added. Without it the
            ASVspoof 5 organiser rates are used.

    Returns:
        ``(metrics, joined)``; ``metrics`` also holds ``n_errors`` (failed rows in the score file)
        and ``n_unscored`` (keys without a score).
    """
    scores = read_cm_scores(scores_path, score_format)
    keys = read_cm_keys(keys_path, key_format, phase=phase)
    joined = join_cm(scores, keys)
    bona, spoof = joined.scores[joined.labels == 1], joined.scores[joined.labels == 0]
    asv = ASVSPOOF5_ASV_RATES if asv_scores_path is None else read_asv_rates(asv_scores_path)
    metrics = cm_metrics(bona, spoof, asv=asv)
    if asv_scores_path is not None:
        metrics["min_tdcf_legacy"] = min_tdcf_legacy(bona, spoof, asv)[0]
        metrics["asv_rates"] = {"pfa": asv.pfa, "pmiss": asv.pmiss, "pfa_spoof": asv.pfa_spoof}
    metrics["n_errors"] = len(joined.errors)
    metrics["n_unscored"] = joined.n_unscored
    return metrics, joined


def read_asv_rates(path: str | Path) -> AsvRates:
    """ASV error rates (at the ASV EER threshold) of an ASV score file.

    Reads the ASVspoof 2019 ASV score file (``SRC KEY SCORE``) or labeled trial scores
    (``ENROLL TEST SCORE target|nontarget|spoof``), told apart by their column count.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            first = next((line.split() for line in fh if line.strip()), [])
    except FileNotFoundError as exc:
        raise VoxguardError(f"{path}: ASV score file not found") from exc
    data = read_asv_scores_2019(path) if len(first) == 3 else read_labeled_scores(path)
    groups = [data.by_label(lab) for lab in ("target", "nontarget", "spoof")]
    if any(g.size == 0 for g in groups):
        raise VoxguardError(
            f"{path}: the ASV scores need target, nontarget and spoof trials for the t-DCF"
        )
    return asv_error_rates(*groups)
