"""Linear-frequency front-ends against independent numpy / scipy computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.fft import dct

from voxguard.frontends.spectrogram import LFCC, LogMel, LogSpectrogram, PhaseSpectrogram


def _frames(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    n = (len(x) - length) // hop + 1
    return np.stack([x[i * hop : i * hop + length] for i in range(n)])


def _power(x: np.ndarray, length: int, hop: int, n_fft: int) -> np.ndarray:
    window = np.hanning(length + 1)[:-1]  # periodic Hann
    return np.abs(np.fft.rfft(_frames(x, length, hop) * window, n=n_fft)) ** 2


@pytest.fixture
def tone_and_noise() -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(16000)).astype(
        np.float32
    )


def test_log_spectrogram_matches_numpy_rfft(tone_and_noise):
    feats, frames = LogSpectrogram(cmn=False)(torch.from_numpy(tone_and_noise)[None])
    ref = np.log(_power(tone_and_noise.astype(np.float64), 512, 160, 512) + 1e-8)
    assert feats.shape == (1, ref.shape[0], 257) and int(frames[0]) == ref.shape[0]
    np.testing.assert_allclose(feats[0].numpy(), ref, atol=2e-3)
    # the 440 Hz tone peaks in bin 440 / (16000 / 512) = 14.08
    assert int(feats[0].mean(0).argmax()) == 14


def test_log_spectrogram_cmn_and_lengths(tone_and_noise):
    x = torch.from_numpy(tone_and_noise)[None].repeat(2, 1)
    feats, frames = LogSpectrogram()(x, torch.tensor([16000, 8000]))
    assert frames.tolist() == [97, 47]
    np.testing.assert_allclose(feats[0].mean(0).numpy(), 0.0, atol=1e-4)  # mean-normalised per bin


def test_lfcc_matches_numpy_scipy(tone_and_noise):
    x = tone_and_noise.astype(np.float64)
    power = _power(x, 320, 160, 512)
    # 20 triangles equally spaced in Hz from 0 to 8 kHz, built from frequencies
    hz = np.arange(257) * 16000 / 512
    edges = np.linspace(0, 8000, 22)
    fb = np.stack(
        [
            np.clip(
                np.minimum(
                    (hz - edges[i]) / (edges[i + 1] - edges[i]),
                    (edges[i + 2] - hz) / (edges[i + 2] - edges[i + 1]),
                ),
                0,
                None,
            )
            for i in range(20)
        ],
        axis=1,
    )
    ceps = dct(np.log(power @ fb + 1e-8), type=2, norm="ortho", axis=1)

    def delta(c):  # HTK regression, width 2, edges replicated
        p = np.pad(c, ((2, 2), (0, 0)), mode="edge")
        return sum(n * (p[2 + n : 2 + n + len(c)] - p[2 - n : 2 - n + len(c)]) for n in (1, 2)) / 10

    ref = np.concatenate([ceps, delta(ceps), delta(delta(ceps))], axis=1)
    feats, _ = LFCC()(torch.from_numpy(tone_and_noise)[None])
    assert feats.shape == (1, ref.shape[0], 60)
    np.testing.assert_allclose(feats[0].numpy(), ref, atol=5e-3)


def test_short_input_gives_one_frame():
    feats, frames = LogSpectrogram()(torch.zeros(1, 100))
    assert feats.shape == (1, 1, 257) and frames.tolist() == [1]
    assert torch.isfinite(feats).all()


def test_export_path_matmul_equals_the_fft(tone_and_noise, monkeypatch):
    x = torch.from_numpy(tone_and_noise)[None]
    for frontend in (LogSpectrogram(cmn=False), LFCC(), PhaseSpectrogram(cmn=False)):
        eager, _ = frontend(x)
        monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: True)
        exported, _ = frontend(x)
        monkeypatch.undo()
        torch.testing.assert_close(exported, eager, atol=2e-3, rtol=1e-4)


def test_phase_channels_of_an_impulse_are_its_delay():
    # a unit impulse t0 samples into a frame has X[k] = w[t0] exp(-2 pi i k t0 / N): every
    # neighbouring-bin phase step is -2 pi t0 / N, with all bins equally loud (weight
    # 1 / (1 + 0.1) for equal powers)
    frontend = PhaseSpectrogram(cmn=False)  # 64-sample frames every 32, n_fft 64
    x = torch.zeros(1, 64)
    t0 = 20
    x[0, t0] = 1.0
    feats, frames = frontend(x)
    assert feats.shape == (1, 3, 1, 33) and frames.tolist() == [1]
    step = -2 * np.pi * t0 / 64
    weight = 1 / 1.1
    np.testing.assert_allclose(feats[0, 1, 0, :32].numpy(), np.cos(step) * weight, atol=1e-5)
    np.testing.assert_allclose(feats[0, 2, 0, :32].numpy(), np.sin(step) * weight, atol=1e-5)
    assert feats[0, 1, 0, 32] == 0 and feats[0, 2, 0, 32] == 0  # the last bin has no neighbour
    # channel 0 is the log power spectrogram
    window = np.hanning(65)[:-1]
    np.testing.assert_allclose(feats[0, 0, 0].numpy(), np.log(window[t0] ** 2 + 1e-8), rtol=1e-5)


def test_phase_channels_fade_in_near_silent_bins():
    # a 1-kHz tone: its bins carry the phase steps, the empty bins far from it are weighted
    # towards 0 (their power is far below 0.1 of the frame's mean)
    t = np.arange(4000) / 16000
    x = torch.from_numpy(np.sin(2 * np.pi * 1000 * t).astype(np.float32))[None]
    feats, _ = PhaseSpectrogram(cmn=False)(x)
    magnitude = torch.sqrt(feats[0, 1] ** 2 + feats[0, 2] ** 2).mean(0)  # over frames
    assert magnitude[3:5].min() > 0.5  # the steps bin 3 -> 4 and 4 -> 5 (1 kHz = bin 4 of 250 Hz)
    assert magnitude[12:].max() < 0.05


def _kaldi_mel_filters(n_mels: int, n_fft: int, fs: int) -> np.ndarray:
    # Kaldi's triangles, written out in numpy: edges evenly spaced on 1127 ln(1 + f / 700)
    # between 20 Hz and Nyquist, weights taken on the mel scale, the Nyquist bin left out
    mel = lambda f: 1127.0 * np.log1p(np.asarray(f, dtype=np.float64) / 700.0)  # noqa: E731
    edges = np.linspace(mel(20.0), mel(fs / 2), n_mels + 2)
    bins = mel(np.arange(n_fft // 2 + 1) * fs / n_fft)
    w = np.zeros((n_fft // 2 + 1, n_mels))
    for m in range(n_mels):
        lo, c, hi = edges[m : m + 3]
        w[:-1, m] = np.clip(np.minimum((bins - lo) / (c - lo), (hi - bins) / (hi - c)), 0, None)[
            :-1
        ]
    return w


def test_log_mel_matches_numpy_mel_filters_with_per_band_mean_removed(tone_and_noise):
    feats, frames = LogMel()(torch.from_numpy(tone_and_noise)[None])
    mel_power = _power(tone_and_noise.astype(np.float64), 400, 160, 512) @ _kaldi_mel_filters(
        80, 512, 16000
    )
    ref = np.log(mel_power + 1e-8)
    ref -= ref.mean(0)
    assert feats.shape == (1, ref.shape[0], 80) and int(frames[0]) == ref.shape[0]
    np.testing.assert_allclose(feats[0].numpy(), ref, atol=2e-3)
    # before the mean removal the 440 Hz tone dominates the band centred nearest to it
    centres = 700.0 * np.expm1(
        np.linspace(1127.0 * np.log1p(20 / 700), 1127.0 * np.log1p(8000 / 700), 82)[1:-1] / 1127.0
    )
    assert int(np.argmax(mel_power.mean(0))) == int(np.argmin(np.abs(centres - 440.0)))
