"""Waveform augmentation for speaker-embedding training: noise, reverberation, codecs, telephone
band, speed and gain, on random 1-4 s crops.

All generated here (no noise or RIR corpus is needed): additive noise is coloured Gaussian
noise (white / pink / brown) or babble made of other training utterances; reverberation is a
synthetic exponentially decaying room impulse response (RT60 0.2-0.9 s) with a direct path;
codecs go through :func:`voxguard.audio.augment.apply_codec` (mp3, opus, 8 kHz mu-law); the
telephone channel is 8 kHz resampling with a 300-3400 Hz band; speed is resampling by 0.95-1.05.

:func:`pseudo_speaker` is the other use of resampling: a factor well outside that range (e.g.
0.88 or 1.12) moves pitch and formants far enough that the copy is treated as a *new* speaker
(Yamamoto et al., "Speaker augmentation and bandwidth extension for deep speaker embedding",
Interspeech 2019), which widens the set of voices the distilled student sees.

:func:`talker_mixture` puts the student *between* voices instead: two talkers overlapped at a
given signal-to-interference ratio, an input the teacher labels (its embedding of the mixture is
the target), as in distillation with mixup-style inputs (Stanton et al., "Does knowledge
distillation really work?", NeurIPS 2021).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt

from voxguard.audio.augment import apply_codec
from voxguard.audio.resample import resample


@dataclass(frozen=True)
class SpkAugmentConfig:
    """Probabilities and ranges of :class:`SpeakerAugment`."""

    p_clean: float = 0.35
    p_noise: float = 0.5
    p_reverb: float = 0.35
    p_codec: float = 0.2
    p_telephone: float = 0.15
    p_speed: float = 0.2
    snr_db: tuple[float, float] = (3.0, 25.0)
    rt60_s: tuple[float, float] = (0.2, 0.9)
    speed: tuple[float, float] = (0.95, 1.05)
    min_s: float = 1.0
    max_s: float = 4.0


def _coloured_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    white = rng.standard_normal(n)
    kind = rng.integers(3)
    if kind == 0:
        return white
    spec = np.fft.rfft(white)
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    spec /= f ** (0.5 if kind == 1 else 1.0)  # pink (1/f power) or brown (1/f^2)
    return np.fft.irfft(spec, n)


def _mix(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    px = np.mean(x**2) + 1e-10
    pn = np.mean(noise**2) + 1e-10
    return x + noise * np.sqrt(px / (pn * 10 ** (snr_db / 10)))


def pseudo_speaker(x: np.ndarray, factor: float, fs: int = 16000) -> np.ndarray:
    """``x`` played ``factor`` times faster: pitch and formants times ``factor``, length / ``factor``.

    Resampling from ``fs * factor`` to ``fs`` (the signal read as if it had been recorded at the
    higher rate), float32 out.
    """
    if not 0.5 <= factor <= 2.0:
        raise ValueError(f"pseudo-speaker factor {factor}: use 0.5-2.0")
    return resample(np.asarray(x, dtype=np.float32), int(round(fs * factor)), fs)


def talker_mixture(a: np.ndarray, b: np.ndarray, sir_db: float) -> np.ndarray:
    """``a`` and ``b`` overlapped from their starts to the shorter one's end, ``b`` scaled so that
    the power ratio of ``a`` to ``b`` is ``sir_db`` dB; scaled down only if the sum would clip.

    Float32 out. Raises ``ValueError`` when either signal is empty or silent (no ratio exists).
    """
    n = min(len(a), len(b))
    x, y = np.asarray(a[:n], dtype=np.float64), np.asarray(b[:n], dtype=np.float64)
    px, py = float(np.sum(x**2)), float(np.sum(y**2))  # same length: sums have the ratio of powers
    if px <= 0.0 or py <= 0.0:
        raise ValueError("talker_mixture: both signals need samples and energy")
    mix = x + y * np.sqrt(px / (py * 10 ** (sir_db / 10)))
    peak = float(np.max(np.abs(mix)))
    return (mix / peak if peak > 1.0 else mix).astype(np.float32)


def synthetic_rir(rt60: float, fs: int, rng: np.random.Generator) -> np.ndarray:
    """An exponentially decaying noise tail (``rt60`` seconds to -60 dB) after a unit direct path."""
    n = int(rt60 * fs)
    t = np.arange(n) / fs
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    delay = int(rng.integers(int(0.002 * fs), int(0.01 * fs)))
    tail[:delay] = 0.0
    rir = tail * rng.uniform(0.2, 0.6) / (np.sqrt(np.sum(tail**2)) + 1e-10)
    rir[0] = 1.0
    return rir


class SpeakerAugment:
    """Random crop (``min_s``-``max_s``) plus a random chain of channel/noise augmentations.

    ``babble`` (optional) returns another utterance's samples to mix in as babble noise.
    """

    def __init__(
        self,
        cfg: SpkAugmentConfig = SpkAugmentConfig(),
        fs: int = 16000,
        babble: Callable[[np.random.Generator], np.ndarray] | None = None,
    ) -> None:
        self.cfg, self.fs, self.babble = cfg, fs, babble
        self._tel = butter(6, [300, 3400], btype="bandpass", fs=8000, output="sos")

    def crop(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A random crop of ``min_s``-``max_s`` seconds (the whole signal when shorter)."""
        return self.crop_at(x, rng)[1]

    def crop_at(self, x: np.ndarray, rng: np.random.Generator) -> tuple[int, np.ndarray]:
        """A random crop as in :meth:`crop`, with its start sample."""
        n = int(rng.uniform(self.cfg.min_s, self.cfg.max_s) * self.fs)
        if len(x) <= n:
            return 0, x.copy()
        start = int(rng.integers(0, len(x) - n + 1))
        return start, x[start : start + n].copy()

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
        """The augmented signal (float32, clipped to [-1, 1]) and the names of what was applied."""
        c, applied = self.cfg, []
        y = np.asarray(x, dtype=np.float64)
        if rng.random() < c.p_clean:
            return y.astype(np.float32), applied
        if rng.random() < c.p_speed:
            y = resample(y.astype(np.float32), int(self.fs * rng.uniform(*c.speed)), self.fs)
            applied.append("speed")
        if rng.random() < c.p_reverb:
            y = fftconvolve(y, synthetic_rir(rng.uniform(*c.rt60_s), self.fs, rng))[: len(y)]
            applied.append("reverb")
        if rng.random() < c.p_noise:
            if self.babble is not None and rng.random() < 0.3:
                noise = np.resize(self.babble(rng), len(y))
                y = _mix(y, noise, rng.uniform(8.0, 25.0))
                applied.append("babble")
            else:
                y = _mix(y, _coloured_noise(len(y), rng), rng.uniform(*c.snr_db))
                applied.append("noise")
        if rng.random() < c.p_telephone:
            low = sosfilt(self._tel, resample(y.astype(np.float32), self.fs, 8000))
            y = resample(low.astype(np.float32), 8000, self.fs)[: len(y)]
            applied.append("telephone")
        elif rng.random() < c.p_codec:
            codec = ("mp3", "opus", "ulaw8k")[int(rng.integers(3))]
            peak = np.max(np.abs(y)) + 1e-9
            y = apply_codec((y / max(peak, 1.0)).astype(np.float32), codec, self.fs)
            applied.append(codec)
        y = y * 10 ** (rng.uniform(-12, 6) / 20)
        peak = np.max(np.abs(y))
        if peak > 0.99:
            y = y * (0.99 / peak)
        return y.astype(np.float32), applied
