"""Per-attack and per-condition breakdown of CM metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from voxguard.metrics import eer, min_dcf

__all__ = ["breakdown", "format_table"]


def breakdown(
    scores: np.ndarray, labels: np.ndarray, groups: Sequence[str], by: str = "attack"
) -> list[dict[str, Any]]:
    """EER and minDCF per group.

    Args:
        scores: CM scores (higher = bona fide).
        labels: 1 = bona fide, 0 = spoof.
        groups: the attack (or condition) of each trial.
        by: ``"attack"``: all bona fide trials against the spoofs of each attack (bona fide
            trials' own group is ignored); ``"condition"``: bona fide and spoof trials of the same
            condition (codec, channel) against each other.

    Returns:
        One row per group (sorted by name) with ``group``, ``eer``, ``min_dcf``, ``n_bonafide``,
        ``n_spoof``; groups lacking one class are skipped.
    """
    if by not in ("attack", "condition"):
        raise ValueError(f"by must be 'attack' or 'condition', got {by!r}")
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    g = np.asarray(groups, dtype=object)
    bona_all = scores[labels == 1]
    rows = []
    for name in sorted(set(g[labels == 0])):
        spf = scores[(labels == 0) & (g == name)]
        bona = bona_all if by == "attack" else scores[(labels == 1) & (g == name)]
        if bona.size == 0 or spf.size == 0:
            continue
        rows.append(
            {
                "group": str(name),
                "eer": eer(bona, spf)[0],
                "min_dcf": min_dcf(bona, spf)[0],
                "n_bonafide": int(bona.size),
                "n_spoof": int(spf.size),
            }
        )
    return rows


def format_table(rows: Sequence[dict[str, Any]], title: str = "group") -> str:
    """Plain-text table (EER in %, minDCF as is) of :func:`breakdown` rows."""
    width = max([len(title)] + [len(r["group"]) for r in rows])
    lines = [f"{title:<{width}}  {'EER %':>7}  {'minDCF':>7}  {'#bona':>7}  {'#spoof':>7}"]
    for r in rows:
        lines.append(
            f"{r['group']:<{width}}  {100 * r['eer']:7.2f}  {r['min_dcf']:7.4f}  "
            f"{r['n_bonafide']:7d}  {r['n_spoof']:7d}"
        )
    return "\n".join(lines)
