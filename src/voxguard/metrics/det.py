"""DET curves and equal error rates (numpy only).

Score polarity: higher = bona fide / target. Two EER conventions are offered:

- ``legacy`` (ASVspoof 2019/2021/5 evaluation packages): scores are stable-sorted with no grouping
  of ties, the DET curve has one point per score, and EER = mean(frr, far) at argmin |frr - far|.
- ``interp`` (tie-aware; the SASV 2022 ``sklearn.metrics.roc_curve`` + ``brentq`` convention):
  one operating point per *distinct* threshold, joined by straight lines; the EER is where that
  polyline crosses frr = far. Tied scores are always accepted or rejected together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "DetCurve",
    "SortedTrials",
    "as_scores",
    "det_curve",
    "eer",
    "eer_from_det",
    "eer_interp",
    "eer_interp_from_roc",
    "roc_from_sorted",
    "roc_points",
]


@dataclass(frozen=True)
class DetCurve:
    """Miss / false-alarm rates at each threshold (accept when ``score > threshold``).

    Attributes:
        frr: miss rate of the positive (bona fide / target) class, shape (N+1,).
        far: false-alarm rate of the negative class, shape (N+1,).
        thresholds: the threshold of each point; point 0 accepts everything.
    """

    frr: np.ndarray
    far: np.ndarray
    thresholds: np.ndarray


@dataclass(frozen=True)
class SortedTrials:
    """Positive and negative scores pooled and stable-sorted once, shared by all metrics.

    Attributes:
        scores: all scores in ascending order (positives first among equal scores).
        labels: 1.0 for positive (bona fide / target), 0.0 for negative, in the same order.
        n_pos: number of positive trials.
        n_neg: number of negative trials.
    """

    scores: np.ndarray
    labels: np.ndarray
    n_pos: int
    n_neg: int

    @classmethod
    def build(cls, positive: ArrayLike, negative: ArrayLike) -> SortedTrials:
        """Validate and sort, with the order of a stable sort of ``[positive, negative]``.

        The ASVspoof packages stable-argsort the concatenated scores, which puts the positives
        first inside every group of tied scores. The same labels are rebuilt here from two plain
        ``np.sort`` calls (several times faster than a stable argsort) and per-group counts.
        """
        pos = as_scores(positive, "positive scores")
        neg = as_scores(negative, "negative scores")
        scores = np.sort(np.concatenate([pos, neg]))
        pos_sorted = np.sort(pos)
        start = np.r_[True, scores[1:] != scores[:-1]]
        gid = np.cumsum(start) - 1
        first = np.flatnonzero(start)
        values = scores[first]
        n_pos = np.searchsorted(pos_sorted, values, "right") - np.searchsorted(
            pos_sorted, values, "left"
        )
        labels = ((np.arange(scores.size) - first[gid]) < n_pos[gid]).astype(np.float64)
        return cls(scores, labels, int(pos.size), int(neg.size))

    def det(self) -> DetCurve:
        """The ASVspoof DET curve (see :func:`det_curve`)."""
        tar_sums = np.cumsum(self.labels)
        non_sums = self.n_neg - (np.arange(1, self.scores.size + 1) - tar_sums)
        frr = np.concatenate([[0.0], tar_sums / self.n_pos])
        far = np.concatenate([[1.0], non_sums / self.n_neg])
        thresholds = np.concatenate([[self.scores[0] - 0.001], self.scores])
        return DetCurve(frr=frr, far=far, thresholds=thresholds)

    def groups(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tie groups in ascending order: ``(value, n_positive, n_total)`` per distinct score."""
        start = np.r_[True, self.scores[1:] != self.scores[:-1]]
        gid = np.cumsum(start) - 1
        n_pos = np.bincount(gid, weights=self.labels)
        n_all = np.bincount(gid).astype(np.float64)
        return self.scores[start], n_pos, n_all


def as_scores(x: ArrayLike, name: str = "scores") -> np.ndarray:
    """Return ``x`` as a 1-D float64 array; raise ``ValueError`` if it is empty or non-finite."""
    arr = np.asarray(x, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError(f"{name} is empty: every metric needs at least one score of each class")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values: drop or fix those trials first")
    return arr


def det_curve(positive: ArrayLike, negative: ArrayLike) -> DetCurve:
    """ASVspoof DET curve: stable sort of all scores, one point per score (ties not grouped).

    Point ``i`` (i >= 1) rejects the ``i`` lowest scores; point 0 rejects nothing and its
    threshold is ``min(score) - 0.001`` as in the official evaluation packages.

    Args:
        positive: bona fide / target scores.
        negative: spoof / non-target scores.
    """
    return SortedTrials.build(positive, negative).det()


def eer(positive: ArrayLike, negative: ArrayLike, ties: str = "legacy") -> tuple[float, float]:
    """Equal error rate and its threshold.

    Args:
        positive: bona fide / target scores (higher = positive).
        negative: spoof / non-target scores.
        ties: ``"legacy"`` (ASVspoof packages, ties not grouped) or ``"interp"`` (tie-aware,
            interpolated; see :func:`eer_interp`).

    Returns:
        ``(eer, threshold)``; the EER is a fraction (0.05 = 5 %).
    """
    if ties == "interp":
        return eer_interp(positive, negative)
    if ties != "legacy":
        raise ValueError(f"ties must be 'legacy' or 'interp', got {ties!r}")
    return eer_from_det(det_curve(positive, negative))


def eer_from_det(det: DetCurve) -> tuple[float, float]:
    """Legacy EER of a precomputed DET curve: mean(frr, far) at argmin |frr - far|."""
    i = int(np.argmin(np.abs(det.frr - det.far)))
    return float((det.frr[i] + det.far[i]) / 2.0), float(det.thresholds[i])


def roc_points(positive: ArrayLike, negative: ArrayLike) -> tuple[np.ndarray, ...]:
    """ROC at each distinct threshold, as ``sklearn.metrics.roc_curve`` (without point dropping).

    Returns:
        ``(fpr, tpr, thresholds)`` with a leading (0, 0) point at threshold ``+inf``; a trial
        is accepted when ``score >= threshold``.
    """
    return roc_from_sorted(SortedTrials.build(positive, negative))


def roc_from_sorted(st: SortedTrials) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`roc_points` of pre-sorted trials."""
    values, n_pos, n_all = st.groups()
    # accepting ``score >= value`` keeps this group and every higher one
    tps = np.cumsum(n_pos[::-1])
    fps = np.cumsum((n_all - n_pos)[::-1])
    tpr = np.concatenate([[0.0], tps / st.n_pos])
    fpr = np.concatenate([[0.0], fps / st.n_neg])
    return fpr, tpr, np.concatenate([[np.inf], values[::-1]])


def eer_interp(positive: ArrayLike, negative: ArrayLike) -> tuple[float, float]:
    """Tie-aware EER: where the piecewise-linear ROC crosses ``tpr = 1 - fpr``.

    This is the closed form of the SASV 2022 baseline's
    ``brentq(lambda x: 1 - x - interp1d(fpr, tpr)(x), 0, 1)`` on sklearn's ROC (vertical ROC
    segments are crossed at their abscissa). The threshold is interpolated the same way.

    Returns:
        ``(eer, threshold)``; ``eer`` equals the false-alarm rate at the crossing.
    """
    return eer_interp_from_roc(*roc_points(positive, negative))


def eer_interp_from_roc(fpr: np.ndarray, tpr: np.ndarray, thr: np.ndarray) -> tuple[float, float]:
    """Tie-aware EER of a precomputed ROC (see :func:`eer_interp`)."""
    g = 1.0 - fpr - tpr  # decreasing along the curve: g[0] = 1, g[-1] = -1
    k = int(np.flatnonzero(g <= 0.0)[0])  # first point on or past the anti-diagonal
    if g[k] == 0.0:
        return float(fpr[k]), float(thr[k])
    x0, x1, y0, y1 = fpr[k - 1], fpr[k], tpr[k - 1], tpr[k]
    if x1 == x0:  # vertical segment: the crossing is at its abscissa
        t = (1.0 - x0 - y0) / (y1 - y0)
        x = x0
    else:
        slope = (y1 - y0) / (x1 - x0)
        x = (1.0 - y0 + slope * x0) / (1.0 + slope)
        t = (x - x0) / (x1 - x0)
    t0 = thr[k - 1] if np.isfinite(thr[k - 1]) else thr[k]
    return float(x), float(t0 + t * (thr[k] - t0))
