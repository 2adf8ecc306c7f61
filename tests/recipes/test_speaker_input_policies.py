"""``recipes/speaker/evaluate.py``'s input policies: what a model embeds for one input."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(scope="module")
def ev(import_recipe):
    return import_recipe("speaker", "evaluate")


def _peak_hz(x: np.ndarray, sr: int = 16000) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * sr / len(x))


def test_speed3_plays_the_input_at_three_speeds(ev) -> None:
    sr, f = 16000, 500.0
    wav = np.sin(2 * np.pi * f * np.arange(2 * sr) / sr).astype(np.float32)
    same, slow, fast = ev.policy_inputs(wav, "speed3")
    assert same is wav
    # speed 0.95: 5 % longer, its tone 5 % lower; 1.05: shorter and higher (pitch moves with tempo)
    assert len(slow) == pytest.approx(len(wav) / 0.95, abs=2)
    assert len(fast) == pytest.approx(len(wav) / 1.05, abs=2)
    assert _peak_hz(slow) == pytest.approx(0.95 * f, abs=2.0)
    assert _peak_hz(fast) == pytest.approx(1.05 * f, abs=2.0)
    assert ev.policy_inputs(wav, None) == [wav]


def test_several_inputs_average_their_unit_embeddings(ev) -> None:
    # a "model" whose embedding is the first two samples: the mean of the unit vectors is known
    def model(x: torch.Tensor) -> torch.Tensor:
        return x[:, :2]

    a, b = np.array([3.0, 4.0, 9.0], np.float32), np.array([0.0, 2.0, 9.0], np.float32)
    np.testing.assert_allclose(ev.embed_inputs(model, [a]), [3.0, 4.0])  # one input: as it is
    np.testing.assert_allclose(ev.embed_inputs(model, [a, b]), [0.3, 0.9], rtol=1e-6)
