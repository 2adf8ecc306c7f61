"""AASIST crop conventions and sliding windows.

Train: a random ``length``-sample crop, tile-repeated first when the clip is shorter.
Eval: the first ``length`` samples, tile-repeated when shorter (the official ``pad`` function).
"""

from __future__ import annotations

import numpy as np

AASIST_CROP = 64600  # 4.04 s at 16 kHz


def tile_to(samples: np.ndarray, length: int) -> np.ndarray:
    """Repeat ``samples`` end to end until it has at least ``length`` samples, then cut."""
    n = samples.shape[-1]
    if n == 0:
        raise ValueError("cannot tile an empty signal")
    if n >= length:
        return samples[..., :length]
    reps = -(-length // n)
    return np.tile(samples, reps)[..., :length]


def eval_crop(samples: np.ndarray, length: int = AASIST_CROP) -> np.ndarray:
    """First ``length`` samples, tile-repeated if the clip is shorter."""
    return tile_to(samples, length)


def train_crop(samples: np.ndarray, length: int = AASIST_CROP, rng: np.random.Generator | None = None) -> np.ndarray:
    """Random ``length``-sample window, tile-repeated first if the clip is shorter."""
    rng = rng or np.random.default_rng()
    if samples.shape[-1] <= length:
        return tile_to(samples, length)
    start = int(rng.integers(0, samples.shape[-1] - length + 1))
    return samples[..., start : start + length]


def sliding_windows(samples: np.ndarray, length: int = AASIST_CROP, hop: int | None = None) -> np.ndarray:
    """Cut a long signal into ``(n_windows, length)`` windows with ``hop`` (default ``length``).

    The last window is aligned to the end of the signal so no sample is dropped; a signal
    shorter than ``length`` gives one tile-repeated window.
    """
    hop = hop or length
    n = samples.shape[-1]
    if n <= length:
        return tile_to(samples, length)[None]
    starts = list(range(0, n - length + 1, hop))
    if starts[-1] + length < n:
        starts.append(n - length)
    return np.stack([samples[s : s + length] for s in starts])
