"""Speaker-verification evaluation of a score file against a trial list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from voxguard.data.scorefiles import read_labeled_scores, read_trials
from voxguard.errors import VoxguardError
from voxguard.metrics import sv_metrics

__all__ = ["evaluate_sv_files"]


def evaluate_sv_files(scores_path: str | Path, trials_path: str | Path | None) -> dict[str, Any]:
    """EER and minDCF (p_target 0.01 / 0.05) of ``ENROLL TEST SCORE`` lines.

    Labels come from ``trials_path`` (Kaldi or VoxCeleb trials), or from the score file's own
    fourth column when ``trials_path`` is None.
    """
    scores = read_labeled_scores(scores_path)
    if trials_path is None:
        labels = np.array([{"target": 1, "nontarget": 0}.get(lab, -1) for lab in scores.labels])
        if (labels < 0).any():
            raise VoxguardError(
                f"{scores_path}: some lines have no target/nontarget label; pass a trial list"
            )
        values = scores.scores
    else:
        trials = read_trials(trials_path)
        if trials.labels is None:
            raise VoxguardError(f"{trials_path}: the trial list has no labels")
        lookup = {
            (e, t): i for i, (e, t) in enumerate(zip(scores.enroll, scores.test, strict=True))
        }
        rows = [lookup.get(pair, -1) for pair in zip(trials.enroll, trials.test, strict=True)]
        have = np.array([r >= 0 for r in rows], dtype=bool)
        if not have.any():
            raise VoxguardError(
                f"no trial of {trials_path} is in {scores_path}; check the enroll/test id columns"
            )
        values = scores.scores[np.array(rows)[have]]
        labels = trials.labels[have]
    if not (labels == 1).any() or not (labels == 0).any():
        raise VoxguardError("speaker verification needs both target and non-target trials")
    out = sv_metrics(values[labels == 1], values[labels == 0])
    out["n_target"] = int((labels == 1).sum())
    out["n_nontarget"] = int((labels == 0).sum())
    out["n_errors"] = len(scores.errors)
    if trials_path is not None:
        out["n_unscored"] = int((~have).sum())
    return out
