"""Synthetic audio and files for tests (shipped in the package, like lhotse.testing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxguard.audio.io import save_audio


def synthetic_speech(seconds: float = 1.0, sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """A speech-like signal: a glottal pulse train through moving formant resonances plus noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    f0 = 110 + 30 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    source = np.sign(np.sin(phase)) * 0.3 + 0.02 * rng.standard_normal(n)
    out = np.zeros(n)
    for formant in (500 + 200 * rng.random(), 1500 + 300 * rng.random(), 2500):
        out += np.sin(2 * np.pi * formant * t) * source
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2
    out = out * envelope
    return (0.3 * out / np.max(np.abs(out))).astype(np.float32)


def write_wav(path: str | Path, seconds: float = 1.0, sample_rate: int = 16000, seed: int = 0) -> Path:
    """Write :func:`synthetic_speech` to ``path`` (format from the extension)."""
    save_audio(path, synthetic_speech(seconds, sample_rate, seed), sample_rate)
    return Path(path)
