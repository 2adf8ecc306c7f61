"""Speaker-training augmentation: the pseudo-speaker transform moves pitch by its factor."""

from __future__ import annotations

import numpy as np
import pytest

from voxguard.training.spk_augment import pseudo_speaker

FS = 16000


def _peak_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec)) * FS / len(x)


@pytest.mark.parametrize("factor", [0.88, 1.12])
def test_pseudo_speaker_scales_frequency_and_length_by_the_factor(factor: float) -> None:
    t = np.arange(2 * FS) / FS
    tone = (0.5 * np.sin(2 * np.pi * 250.0 * t)).astype(np.float32)
    y = pseudo_speaker(tone, factor)
    assert y.dtype == np.float32
    assert abs(len(y) - len(tone) / factor) <= 2
    # 2 s of 250 Hz: FFT bins are 0.5 Hz (0.57 Hz after the length change); the peak lands on 250 f
    assert _peak_hz(y) == pytest.approx(250.0 * factor, abs=1.0)


def test_pseudo_speaker_refuses_a_factor_that_is_not_a_voice_change() -> None:
    with pytest.raises(ValueError, match="pseudo-speaker factor"):
        pseudo_speaker(np.zeros(FS, np.float32), 3.0)


def test_talker_mixture_overlaps_to_the_shorter_at_the_asked_ratio() -> None:
    from voxguard.training.spk_augment import talker_mixture

    fs = 16000
    t = np.arange(fs) / fs
    a = 0.2 * np.sin(2 * np.pi * 200 * t)  # power 0.02
    b = 0.05 * np.sin(2 * np.pi * 700 * t[: fs // 2])  # half as long, power 0.00125
    mix = talker_mixture(a, b, sir_db=6.0)
    assert mix.dtype == np.float32 and len(mix) == fs // 2
    # the two tones are orthogonal over whole periods: each one's share is its projection
    ta = t[: fs // 2]
    amp_a = 2 * np.mean(mix * np.sin(2 * np.pi * 200 * ta))
    amp_b = 2 * np.mean(mix * np.sin(2 * np.pi * 700 * ta))
    assert amp_a == pytest.approx(0.2, rel=1e-3)  # a untouched (no clipping)
    # 6 dB SIR: b's power 0.02 / 10^0.6, its amplitude sqrt(2 * that) = 0.1002
    assert amp_b == pytest.approx(np.sqrt(2 * 0.02 / 10**0.6), rel=1e-3)


def test_talker_mixture_scales_a_clipping_sum_and_refuses_silence() -> None:
    from voxguard.training.spk_augment import talker_mixture

    a = np.full(100, 0.9)
    mix = talker_mixture(a, np.full(100, 0.9), sir_db=0.0)  # 1.8 before scaling
    assert np.max(np.abs(mix)) == pytest.approx(1.0) and np.allclose(mix, 1.0)
    with pytest.raises(ValueError, match="energy"):
        talker_mixture(a, np.zeros(100), 0.0)
    with pytest.raises(ValueError, match="energy"):
        talker_mixture(a, np.zeros(0), 0.0)
