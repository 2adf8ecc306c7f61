"""Vocoder copy-synthesis of bona fide speech: WORLD (pyworld), Griffin-Lim (torch), MLSA (pysptk).

Each takes a mono float32 16 kHz signal and returns its re-synthesis at the same rate: the
words and speaker are those of the real utterance, only the waveform generation is artificial.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import torch

from voxguard.data.synth._pkg_resources import ensure_pkg_resources
from voxguard.data.synth.tts import SynthToolMissing

SAMPLE_RATE = 16000


def require_module(module: str, what: str, pip: str):
    """``module``, or :class:`SynthToolMissing` saying ``what`` needs ``pip install PIP``
    (pyworld / pysptk import the deprecated pkg_resources: it is shimmed, their warnings muted)."""
    try:
        ensure_pkg_resources()  # gone in setuptools >= 81
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(module)
    except ImportError:
        raise SynthToolMissing(f"{what} needs `pip install {pip}`") from None


def world_analysis(
    wav: np.ndarray, sample_rate: int = SAMPLE_RATE, frame_period: float = 5.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WORLD features of ``wav``: F0 (DIO + StoneMask), envelope (CheapTrick), aperiodicity (D4C)."""
    pyworld = require_module("pyworld", "the WORLD vocoder", "pyworld")
    x = wav.astype(np.float64)
    f0, t = pyworld.dio(x, sample_rate, frame_period=frame_period)
    f0 = pyworld.stonemask(x, f0, t, sample_rate)
    return f0, pyworld.cheaptrick(x, f0, t, sample_rate), pyworld.d4c(x, f0, t, sample_rate)


def world(wav: np.ndarray, sample_rate: int = SAMPLE_RATE, frame_period: float = 5.0) -> np.ndarray:
    """WORLD analysis (DIO + StoneMask F0, CheapTrick envelope, D4C aperiodicity) and synthesis."""
    f0, sp, ap = world_analysis(wav, sample_rate, frame_period)
    y = require_module("pyworld", "the WORLD vocoder", "pyworld").synthesize(f0, sp, ap, sample_rate, frame_period)
    return y[: len(wav)].astype(np.float32)


def griffin_lim(
    wav: np.ndarray,
    n_fft: int = 512,
    hop: int = 128,
    n_iter: int = 32,
    seed: int = 0,
    momentum: float = 0.99,
) -> np.ndarray:
    """Fast Griffin-Lim phase reconstruction of the STFT magnitude, from a seeded random phase."""
    window = torch.hann_window(n_fft)
    x = torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32))
    mag = torch.stft(x, n_fft, hop, window=window, return_complex=True).abs()
    gen = torch.Generator().manual_seed(seed)
    angles = torch.exp(2j * torch.pi * torch.rand(mag.shape, generator=gen))
    prev = torch.zeros_like(angles)
    for _ in range(n_iter):
        y = torch.istft(mag * angles, n_fft, hop, window=window, length=len(wav))
        rebuilt = torch.stft(y, n_fft, hop, window=window, return_complex=True)
        angles = rebuilt - (momentum / (1 + momentum)) * prev
        prev = rebuilt
        angles = angles / angles.abs().clamp_min(1e-8)
    y = torch.istft(mag * angles, n_fft, hop, window=window, length=len(wav))
    return y.numpy().astype(np.float32)


def mlsa(
    wav: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    order: int = 24,
    alpha: float = 0.42,
    frame: int = 512,
    hop: int = 80,
    seed: int = 0,
) -> np.ndarray:
    """Mel-cepstral analysis and MLSA-filter synthesis (SWIPE' F0, pulse / noise excitation)."""
    pysptk = require_module("pysptk", "the MLSA vocoder", "pysptk")
    synthesis = require_module("pysptk.synthesis", "the MLSA vocoder", "pysptk")
    x = wav.astype(np.float64)
    f0 = pysptk.swipe(x, fs=sample_rate, hopsize=hop, min=60, max=400, otype="f0")
    n_frames = len(f0)
    padded = np.pad(x, (frame // 2, frame))
    frames = np.stack([padded[i * hop : i * hop + frame] for i in range(n_frames)]) * np.blackman(
        frame
    )
    mc = pysptk.mcep(
        frames + 1e-6 * np.random.default_rng(seed).standard_normal(frames.shape),
        order=order,
        alpha=alpha,
        etype=1,
        eps=1e-8,
    )
    b = pysptk.mc2b(mc, alpha)
    pitch = np.where(f0 > 0, sample_rate / np.maximum(f0, 1e-3), 0.0)
    # Gaussian noise from SPTK's generator seeded per call: the default M-sequence keeps its state
    # in the C library between calls, so a build's MLSA files depended on which files a worker
    # had made before (and numpy's global seed, set here until 2026-12-04, never reached it)
    source = pysptk.excite(pitch.astype(np.float64), hop, gaussian=True, seed=int(seed) % 2**31 + 1)
    y = synthesis.Synthesizer(synthesis.MLSADF(order=order, alpha=alpha), hop).synthesis(source, b)
    y = y[: len(wav)]
    if len(y) < len(wav):
        y = np.pad(y, (0, len(wav) - len(y)))
    if not np.all(np.isfinite(y)) or np.max(np.abs(y)) > 1e3:
        # The MLSA filter's Padé approximation goes unstable on some very loud, short inputs;
        # a lower order with a damped envelope is stable on them.
        if order > 16:
            # band-limited input (8 kHz speech upsampled) leaves empty bands whose mel-cepstra
            # explode; a -60 dBFS noise floor keeps the envelope finite
            floor = 1e-3 * np.random.default_rng(seed).standard_normal(len(wav)).astype(np.float32)
            return mlsa(wav + floor, sample_rate, 16, alpha, frame, hop, seed)
        from voxguard.data.synth.tts import SynthFailed

        raise SynthFailed("the MLSA filter is unstable on this input (non-finite output)")
    return y.astype(np.float32)
