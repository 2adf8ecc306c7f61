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
