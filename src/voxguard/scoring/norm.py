"""Score normalisation with a cohort: S-norm and adaptive S-norm (AS-norm).

For a trial ``(e, t)`` with raw cosine ``s``, the cohort scores of each side are
``S_e = cos(e, cohort)`` and ``S_t = cos(t, cohort)``; AS-norm keeps the ``top_k`` highest of each
(Matejka et al. 2017) and returns

    0.5 * ((s - mean(S_e^k)) / std(S_e^k) + (s - mean(S_t^k)) / std(S_t^k))

with the sample standard deviation (``ddof=1``, as in wespeaker). ``top_k=None`` is S-norm over
the whole cohort. The cohort must not contain the test speakers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxguard.errors import VoxguardError
from voxguard.scoring.cosine import cosine_matrix


def cohort_stats(
    embeddings: Any, cohort: Any, top_k: int | None = 200
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std (``ddof=1``) of each embedding's ``top_k`` highest cohort cosine scores."""
    scores = cosine_matrix(embeddings, cohort)
    k = scores.shape[1] if top_k is None else int(top_k)
    if not 2 <= k <= scores.shape[1]:
        raise VoxguardError(
            f"AS-norm top_k={k} needs 2 <= top_k <= cohort size ({scores.shape[1]}); "
            "use a larger cohort or a smaller top_k"
        )
    top = -np.sort(-scores, axis=1)[:, :k]
    return top.mean(axis=1), np.maximum(top.std(axis=1, ddof=1), 1e-12)


def as_norm(
    scores: Any, enroll: Any, test: Any, cohort: Any, top_k: int | None = 200
) -> np.ndarray:
    """AS-normalised scores of trials ``(enroll[i], test[i])`` with raw ``scores[i]``.

    Args:
        scores: raw cosine scores ``(N,)``.
        enroll: enrollment embeddings ``(N, E)`` (one row per trial).
        test: test embeddings ``(N, E)``.
        cohort: cohort embeddings ``(C, E)`` of speakers outside the trials.
        top_k: cohort scores kept per side (``None``: all, i.e. S-norm).
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    me, se = cohort_stats(enroll, cohort, top_k)
    mt, st = cohort_stats(test, cohort, top_k)
    if not (s.size == me.size == mt.size):
        raise VoxguardError(
            f"AS-norm: {s.size} scores for {me.size} enroll and {mt.size} test rows"
        )
    return 0.5 * ((s - me) / se + (s - mt) / st)


def as_norm_matrix(enroll: Any, test: Any, cohort: Any, top_k: int | None = 200) -> np.ndarray:
    """AS-normalised all-pairs score matrix ``(N, M)`` of enroll ``(N, E)`` by test ``(M, E)``."""
    raw = cosine_matrix(enroll, test)
    me, se = cohort_stats(enroll, cohort, top_k)
    mt, st = cohort_stats(test, cohort, top_k)
    return 0.5 * ((raw - me[:, None]) / se[:, None] + (raw - mt[None]) / st[None])
