"""Speech-activity measure used to refuse verdicts on inputs with nothing to judge.

A countermeasure is trained on speech; on digital silence, near-silence or other empty input
its score means nothing (the official AASIST weights give silence a *confident* bona fide
score, +4.45). voxguard therefore measures how much of what the model saw is active and lets
the API answer ``no_speech`` instead of ``bonafide`` below a floor.
"""

from __future__ import annotations

import numpy as np

FRAME_S = 0.025
ACTIVE_DBFS = -50.0  # frame RMS level (dB re full scale) counted as active


def active_fraction(
    samples: np.ndarray, sample_rate: int = 16000, threshold_dbfs: float = ACTIVE_DBFS
) -> np.ndarray:
    """Fraction of 25 ms frames whose RMS is above ``threshold_dbfs``, per row.

    Args:
        samples: ``(n,)`` or ``(batch, n)`` float signal in [-1, 1].
        sample_rate: sampling rate in Hz.
        threshold_dbfs: RMS level a frame must exceed to count as active.

    Returns:
        ``(batch,)`` float64 in [0, 1] (a scalar array for 1-D input).
    """
    x = np.atleast_2d(np.asarray(samples, dtype=np.float64))
    frame = max(1, int(FRAME_S * sample_rate))
    n_frames = max(1, x.shape[1] // frame)
    usable = x[:, : n_frames * frame] if x.shape[1] >= frame else x
    frames = usable.reshape(x.shape[0], n_frames, -1)
    rms = np.sqrt(np.mean(frames**2, axis=-1))
    level = 20 * np.log10(np.maximum(rms, 1e-12))
    frac = (level > threshold_dbfs).mean(axis=-1)
    return frac if np.ndim(samples) > 1 else frac[0]
