"""Security operating points of a verifier: the decision threshold for a target false-accept rate.

A speaker bundle's ``calibration.json`` may carry, next to the affine score -> LLR map, an
``operating_points`` table measured on held-out speakers: for a grid of target false-accept
rates (FAR), the LLR threshold at which the dev non-target trials are accepted at that rate, and
the miss rate of the dev target trials there. A verifier then decides at a stated FAR (default
1 %) instead of at equal priors (LLR 0), and the user can pick another FAR (interpolated in log
FAR between grid points) or an explicit threshold. numpy only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxguard.errors import VoxguardError

#: FAR grid written by :func:`far_table` (from 10 % down to 0.01 %).
FAR_GRID = (0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005, 0.0002, 0.0001)
DEFAULT_FAR = 0.01


@dataclass(frozen=True)
class OperatingPoint:
    """The threshold a verifier decides with, and where it comes from.

    Attributes:
        threshold: accept when the score (``score``) is at least this.
        kind: ``far`` (threshold for a target FAR from the dev table), ``threshold`` (given by
            the user), ``equal-priors`` (LLR 0: no FAR table available) or ``uncalibrated``
            (the raw cosine threshold of a model without calibration).
        score: what the threshold applies to: ``llr`` or ``cosine``.
        far_target: the target false-accept rate (``kind == "far"``).
        dev_miss_rate: miss rate of the dev target trials at this threshold, when known.
        raw_threshold: the same threshold on the raw cosine score, when calibrated.
    """

    threshold: float
    kind: str
    score: str = "llr"
    far_target: float | None = None
    dev_miss_rate: float | None = None
    raw_threshold: float | None = None

    def describe(self) -> str:
        """One line for people: which operating point is in force."""
        if self.kind == "far":
            miss = (
                f", dev miss rate {100 * self.dev_miss_rate:.1f} %"
                if self.dev_miss_rate is not None
                else ""
            )
            return (
                f"target false-accept rate {100 * self.far_target:g} % "
                f"({self.score} >= {self.threshold:.3f}{miss})"
            )
        if self.kind == "threshold":
            return f"user threshold ({self.score} >= {self.threshold:.3f})"
        if self.kind == "equal-priors":
            return "equal priors (LLR >= 0; no false-accept table for this model)"
        return f"uncalibrated ({self.score} >= {self.threshold:.3f})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the one-line description."""
        out = {k: v for k, v in asdict(self).items() if v is not None}
        out["description"] = self.describe()
        return out


def far_table(
    target: Any, nontarget: Any, fars: tuple[float, ...] = FAR_GRID
) -> list[dict[str, float]]:
    """Thresholds for each target FAR on dev scores (higher = target).

    The threshold for FAR ``f`` lies midway between the ``k``-th and ``k+1``-th highest
    non-target scores, ``k = floor(f * n)``, so at most ``k`` non-targets are accepted. FARs
    below ``1 / n`` cannot be estimated and are left out.
    """
    tar = np.asarray(target, dtype=np.float64).ravel()
    non = np.sort(np.asarray(nontarget, dtype=np.float64).ravel())[::-1]
    rows = []
    for f in fars:
        k = int(np.floor(f * non.size))
        if k < 1:
            continue
        thr = float(0.5 * (non[k - 1] + non[k])) if k < non.size else float(non[-1])
        rows.append(
            {
                "far": f,
                "threshold": thr,
                "dev_far": float(np.mean(non >= thr)),
                "dev_miss": float(np.mean(tar < thr)),
            }
        )
    return rows


def _balanced_thresholds(
    sorted_scores: np.ndarray, pair_of: np.ndarray, pair_weight: np.ndarray, fars: tuple
) -> list[float]:
    """Thresholds at which the pair-weighted FAR of descending ``sorted_scores`` is <= each far."""
    count = np.bincount(pair_of, minlength=pair_weight.size).astype(np.float64)
    per_trial = pair_weight[pair_of] / np.maximum(count[pair_of], 1.0)
    far_at = np.cumsum(per_trial) / pair_weight[count > 0].sum()  # FAR accepting trials 0..k
    out = []
    for f in fars:
        k = int(np.searchsorted(far_at, f, side="right"))  # trials 0..k-1 accepted, FAR <= f
        if k == 0:
            out.append(float(sorted_scores[0] + 1e-6))
        elif k >= sorted_scores.size:
            out.append(float(sorted_scores[-1]))
        else:
            out.append(float(0.5 * (sorted_scores[k - 1] + sorted_scores[k])))
    return out


def far_table_by_speaker(
    target: Any,
    nontarget: Any,
    spk_a: Any,
    spk_b: Any,
    fars: tuple[float, ...] = FAR_GRID,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[dict[str, float]]:
    """Thresholds for each target FAR meant to hold on *new* speakers (higher = target).

    A false-accept rate measured on pooled trials is dominated by the few speaker pairs with many
    utterances, and the FAR on another set of speakers varies with which pairs happen to sound
    alike. Here every speaker pair counts equally (its own FAR is the fraction of its non-target
    trials accepted), and the threshold is an upper confidence bound: the ``confidence`` quantile
    of the thresholds found on ``n_boot`` bootstrap resamples of the speakers (a speaker drawn
    ``c`` times weighs its pairs by ``c``). ``spk_a`` / ``spk_b`` name the two speakers of each
    non-target trial. Rows: ``far``, ``threshold`` (the bound), ``threshold_point`` (all speakers,
    once), ``dev_far`` (pooled non-target trials accepted at ``threshold``), ``dev_far_pairs``
    (speaker-pair-balanced), ``dev_miss``. FARs below one pooled trial are left out.
    """
    tar = np.asarray(target, dtype=np.float64).ravel()
    non = np.asarray(nontarget, dtype=np.float64).ravel()
    a, b = np.asarray(spk_a).ravel(), np.asarray(spk_b).ravel()
    if not (non.size == a.size == b.size) or np.any(a == b):
        raise VoxguardError("far_table_by_speaker needs two different speakers per non-target")
    names, codes = np.unique(np.concatenate([a, b]), return_inverse=True)
    ca = np.minimum(codes[: a.size], codes[a.size :])
    cb = np.maximum(codes[: a.size], codes[a.size :])
    pairs, pair_of = np.unique(ca * names.size + cb, return_inverse=True)
    pa, pb = pairs // names.size, pairs % names.size
    order = np.argsort(-non, kind="stable")
    sorted_scores, pair_sorted = non[order], pair_of[order]
    fars = tuple(f for f in fars if np.floor(f * non.size) >= 1)
    point = _balanced_thresholds(sorted_scores, pair_sorted, np.ones(pairs.size), fars)
    rng = np.random.default_rng(seed)
    boot = np.empty((n_boot, len(fars)))
    for r in range(n_boot):
        c = np.bincount(rng.integers(0, names.size, names.size), minlength=names.size)
        w = (c[pa] * c[pb]).astype(np.float64)
        boot[r] = _balanced_thresholds(sorted_scores, pair_sorted, w, fars) if w.sum() else point
    upper = np.quantile(boot, confidence, axis=0)
    rows = []
    for k, f in enumerate(fars):
        thr = float(max(upper[k], point[k]))
        acc = non >= thr
        per_pair = np.bincount(pair_of, weights=acc, minlength=pairs.size) / np.bincount(
            pair_of, minlength=pairs.size
        )
        rows.append(
            {
                "far": f,
                "threshold": thr,
                "threshold_point": float(point[k]),
                "dev_far": float(acc.mean()),
                "dev_far_pairs": float(per_pair.mean()),
                "dev_miss": float(np.mean(tar < thr)),
            }
        )
    return rows


def threshold_for_far(table: list[dict[str, float]], far: float) -> tuple[float, float]:
    """(threshold, dev miss rate) for ``far``, interpolated linearly in log FAR on the table.

    Raises:
        VoxguardError: ``far`` outside the range the dev trials could measure.
    """
    if not table:
        raise VoxguardError("this model's calibration has no false-accept table; use --threshold")
    rows = sorted(table, key=lambda r: r["far"])
    lo, hi = rows[0]["far"], rows[-1]["far"]
    if not lo <= far <= hi:
        raise VoxguardError(
            f"false-accept rate {far:g} is outside what this model's dev trials measured "
            f"({lo:g} to {hi:g}); pick a FAR in that range or give --threshold"
        )
    x = np.log([r["far"] for r in rows])
    thr = float(np.interp(np.log(far), x, [r["threshold"] for r in rows]))
    miss = float(np.interp(np.log(far), x, [r["dev_miss"] for r in rows]))
    return thr, miss


def read_operating_points(calibration_file: str | Path | None) -> dict[str, Any] | None:
    """The ``operating_points`` section of a calibration JSON, or ``None``."""
    if not calibration_file or not Path(calibration_file).is_file():
        return None
    try:
        data = json.loads(Path(calibration_file).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    section = data.get("operating_points") if isinstance(data, dict) else None
    return section if isinstance(section, dict) and section.get("table") else None
