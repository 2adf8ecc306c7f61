"""Sample-rate conversion with soxr (high quality, fast, deterministic)."""

from __future__ import annotations

import numpy as np
import soxr


def resample(samples: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Resample a mono float32 signal from ``orig_rate`` to ``target_rate``."""
    if orig_rate == target_rate:
        return samples
    return soxr.resample(samples, orig_rate, target_rate, quality="HQ").astype(np.float32, copy=False)
