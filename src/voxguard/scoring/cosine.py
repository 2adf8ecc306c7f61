"""Cosine scoring of speaker embeddings (numpy; accepts numpy arrays or torch tensors).

Scores are cosine similarities in [-1, 1], higher = same speaker. An enrolled speaker is the
mean of its L2-normalised enrollment embeddings (:func:`enroll_mean`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxguard.errors import VoxguardError


def as_matrix(x: Any, name: str = "embeddings") -> np.ndarray:
    """A ``(N, E)`` float64 array from a numpy array / torch tensor of shape ``(E,)`` or ``(N, E)``."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise VoxguardError(f"{name}: expected (N, E) or (E,) embeddings, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise VoxguardError(f"{name}: embeddings contain NaN/inf; check the audio and the model")
    return arr


def l2_normalize(x: Any) -> np.ndarray:
    """Rows scaled to unit norm (zero rows stay zero)."""
    arr = as_matrix(x)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    return arr / np.maximum(norms, 1e-12)


def cosine_matrix(a: Any, b: Any) -> np.ndarray:
    """All-pairs cosine similarity ``(N, M)`` of the rows of ``a`` ``(N, E)`` and ``b`` ``(M, E)``."""
    a, b = l2_normalize(a), l2_normalize(b)
    if a.shape[1] != b.shape[1]:
        raise VoxguardError(
            f"embedding sizes differ ({a.shape[1]} vs {b.shape[1]}); score embeddings of one model"
        )
    return a @ b.T


def cosine_pairs(a: Any, b: Any) -> np.ndarray:
    """Row-by-row cosine similarity of two ``(N, E)`` arrays (one score per trial)."""
    a, b = l2_normalize(a), l2_normalize(b)
    if a.shape != b.shape:
        raise VoxguardError(f"trial sides differ in shape: {a.shape} vs {b.shape}")
    return np.sum(a * b, axis=1)


def enroll_mean(embeddings: Any) -> np.ndarray:
    """Enrollment model of one speaker: the mean of its L2-normalised embeddings, ``(E,)``."""
    return l2_normalize(embeddings).mean(axis=0)


def all_pairs_trials(speakers: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices ``(i, j)`` with ``i < j`` of every pair and whether it is a target (same speaker)."""
    n = len(speakers)
    i, j = np.triu_indices(n, k=1)
    spk = np.asarray(speakers)
    return i, j, spk[i] == spk[j]
