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


def test_a_policy_prefix_names_what_the_system_embeds(ev) -> None:
    plain, fast = ev.System("bccmt_tiny_ge2e_kd"), ev.System("speed3:bccmt_tiny_ge2e_kd")
    assert (plain.policy, fast.policy) == (None, "speed3") and fast.name.endswith(", speed3")
    wav = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    one, three = plain.embed(wav), fast.embed(wav)
    assert one.shape == three.shape and np.isfinite(three).all()
    # three speeds of one signal: the mean of three unit vectors, so shorter than one
    assert 0.5 < np.linalg.norm(three) < 1.0 + 1e-6
    assert set(fast.cpu_ms_per_4s(wav, repeats=1)) == {"cpu_ms_median", "wall_ms_median"}
