"""Kaldi-style fbank against an independent per-frame numpy implementation."""

from __future__ import annotations

import math

import numpy as np
import torch

from voxguard.frontends.fbank import Fbank
from voxguard.testing.audio import synthetic_speech


def kaldi_fbank_numpy(wav: np.ndarray, n_mels: int = 80, sr: int = 16000) -> np.ndarray:
    """Kaldi compute-fbank-feats (dither 0, snip_edges, povey, preemph 0.97, 20 Hz-Nyquist), per frame."""
    x = wav.astype(np.float64) * 32768.0
    flen, hop, nfft = 400, 160, 512
    n_frames = 1 + (len(x) - flen) // hop
    mel = lambda f: 1127.0 * np.log(1.0 + f / 700.0)  # noqa: E731
    lo, hi = mel(20.0), mel(sr / 2)
    centers = lo + (hi - lo) / (n_mels + 1) * np.arange(n_mels + 2)
    banks = np.zeros((n_mels, nfft // 2 + 1))
    for m in range(n_mels):
        for k in range(nfft // 2):
            f = mel(k * sr / nfft)
            if centers[m] < f < centers[m + 2]:
                if f <= centers[m + 1]:
                    banks[m, k] = (f - centers[m]) / (centers[m + 1] - centers[m])
                else:
                    banks[m, k] = (centers[m + 2] - f) / (centers[m + 2] - centers[m + 1])
    window = np.array(
        [(0.5 - 0.5 * math.cos(2 * math.pi * i / (flen - 1))) ** 0.85 for i in range(flen)]
    )
    out = np.zeros((n_frames, n_mels))
    for t in range(n_frames):
        frame = x[t * hop : t * hop + flen].copy()
        frame -= frame.mean()
        for i in range(flen - 1, 0, -1):
            frame[i] -= 0.97 * frame[i - 1]
        frame[0] -= 0.97 * frame[0]
        frame *= window
        power = np.abs(np.fft.rfft(frame, nfft)) ** 2
        out[t] = np.log(np.maximum(banks @ power, np.finfo(np.float32).eps))
    return out


def test_matches_independent_kaldi_numpy():
    wav = synthetic_speech(0.5, seed=3) + 0.01 * np.random.default_rng(0).standard_normal(
        8000
    ).astype(np.float32)
    ref = kaldi_fbank_numpy(wav)
    feats, frames = Fbank(cmn=False)(torch.from_numpy(wav)[None])
    assert feats.shape == (1, 48, 80) and int(frames[0]) == 48 == ref.shape[0]
    np.testing.assert_allclose(feats[0].double().numpy(), ref, atol=2e-3, rtol=1e-4)


def test_cmn_and_lengths():
    wav = torch.from_numpy(np.stack([synthetic_speech(1.0, seed=1), synthetic_speech(1.0, seed=2)]))
    fb = Fbank().eval()
    feats, frames = fb(wav, torch.tensor([16000, 8000]))
    assert frames.tolist() == [98, 48]
    assert feats[0].mean(0).abs().max() < 1e-4
    single, _ = fb(wav[1:, :8000])
    torch.testing.assert_close(feats[1, :48], single[0], atol=1e-4, rtol=1e-4)


def test_short_input_gives_one_frame():
    feats, frames = Fbank()(torch.zeros(1, 100))
    assert feats.shape == (1, 1, 80) and torch.isfinite(feats).all()
