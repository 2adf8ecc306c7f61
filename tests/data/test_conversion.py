"""Voice-conversion attacks: the warp, the drawn voice, F0 moved as drawn, catalogue placement."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voxguard.data.synth import conversion
from voxguard.data.synth.attacks import ATTACKS, attacks_for, get_attack
from voxguard.data.synth.tts import SynthToolMissing


def test_warp_axis_matches_the_all_pass_formula():
    n = 513
    assert np.allclose(conversion.warp_axis(n, 0.0), np.arange(n))
    pos = conversion.warp_axis(n, 0.1)
    assert pos[0] == pytest.approx(0.0) and pos[-1] == pytest.approx(n - 1)
    assert np.all(np.diff(pos) > 0)
    # at w = pi/2 the warp adds 2 atan(alpha) (sin = 1, cos = 0): 0.19934 rad for alpha = 0.1
    mid = (n - 1) // 2
    assert pos[mid] / (n - 1) * math.pi - math.pi / 2 == pytest.approx(0.199337, abs=1e-5)
    assert np.all(conversion.warp_axis(n, -0.1)[1:-1] < np.arange(n)[1:-1])


def test_drawn_voice_is_seeded_and_moves_f0_and_formants_apart():
    assert conversion.draw(7) == conversion.draw(7)
    draws = [conversion.draw(s) for s in range(40)]
    assert len({d.f0_semitones for d in draws}) == 40
    # a higher voice gets shorter formant spacing: warp and F0 shift of opposite signs
    assert all(d.f0_semitones * d.warp_alpha < 0 for d in draws)
    assert {d.f0_semitones > 0 for d in draws} == {True, False}


def _pulse_train(f0: float, seconds: float = 1.5, sr: int = 16000) -> np.ndarray:
    """A glottal-like pulse train at ``f0`` through one resonance at 700 Hz (known F0)."""
    n = int(seconds * sr)
    x = np.zeros(n)
    x[:: int(sr / f0)] = 1.0
    r, w = 0.97, 2 * math.pi * 700 / sr
    y = np.zeros(n)
    for i in range(n):  # two-pole resonator
        y[i] = (
            x[i] + 2 * r * math.cos(w) * (y[i - 1] if i else 0) - r * r * (y[i - 2] if i > 1 else 0)
        )
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


def _median_f0(y: np.ndarray) -> float:
    pyworld = pytest.importorskip("pyworld")
    x = y.astype(np.float64)
    f0, t = pyworld.dio(x, 16000)
    f0 = pyworld.stonemask(x, f0, t, 16000)
    return float(np.median(f0[f0 > 0]))


def test_world_conversion_moves_f0_by_the_drawn_semitones():
    try:
        get_attack("vc-world").check()
    except SynthToolMissing as exc:
        pytest.skip(str(exc))
    wav = _pulse_train(125.0)  # 16000 / 128: the pulse period is a whole number of samples
    seed = next(s for s in range(100) if abs(conversion.draw(s).f0_semitones) > 4)
    y = conversion.world_vc(wav, seed)
    assert len(y) == len(wav) and np.isfinite(y).all()
    # a constant F0 has no range to compress: only the shift is left
    expected = 125.0 * 2 ** (conversion.draw(seed).f0_semitones / 12)
    assert _median_f0(y) == pytest.approx(expected, rel=0.04)
    assert _median_f0(wav) == pytest.approx(125.0, rel=0.02)


def test_over_smoothing_shrinks_variance_over_time():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 5))
    smoothed = conversion._smooth_time(x, 5)
    assert smoothed.shape == x.shape and smoothed.std(0).max() < 0.6  # 1/sqrt(5) = 0.45
    shrunk = conversion._shrink_variance(x, 0.5, first=1)
    assert np.allclose(shrunk[:, 0], x[:, 0])
    assert np.allclose(shrunk[:, 1:].std(0), 0.5 * x[:, 1:].std(0))
    assert np.allclose(shrunk.mean(0), x.mean(0))


def test_vc_attacks_are_named_only_and_keep_their_family_unseen():
    vc = [a for a in ATTACKS.values() if a.id.startswith("vc-")]
    assert {a.id for a in vc} == {"vc-world", "vc-hifigan", "vc-melgan"}
    assert all(a.kind == "vocoder" and not a.in_default_build for a in vc)
    # the default build (what engine-l was made with) draws none of them
    assert not {a.id for a in vc} & set(attacks_for("train") + attacks_for("eval"))
    named_train = set(attacks_for("train", default_build=False))
    assert {"vc-world", "vc-hifigan"} <= named_train and "vc-melgan" not in named_train
    assert "vc-melgan" in attacks_for("eval", default_build=False)
    # the unseen conversion's family never appears in training
    assert ATTACKS["vc-melgan"].family not in {ATTACKS[a].family for a in named_train}
