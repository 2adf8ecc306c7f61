"""The speech gate: Silero VAD calls noise, tones, music and silence non-speech, real speech speech."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from voxguard.api import SpoofDetector
from voxguard.api.detector import MIN_SPEECH
from voxguard.audio import activity, load_audio
from voxguard.audio.activity import (
    active_fraction,
    speech_fraction,
    speech_frames,
    speech_only,
    vad_name,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
gate = pytest.importorskip("speech_gate")

needs_silero = pytest.mark.skipif(
    importlib.util.find_spec("silero_vad") is None
    or importlib.util.find_spec("onnxruntime") is None,
    reason="silero-vad and onnxruntime are not installed (pip install 'voxguard[onnx]')",
)
pytestmark = [pytest.mark.vad, needs_silero]


def test_silero_is_the_speech_detector():
    assert vad_name(16000) == "silero"
    assert vad_name(8000) == "energy"  # the sequence model is 16 kHz only


def test_hysteresis_keeps_speech_on_until_the_lower_threshold():
    probs = np.array([0.1, 0.6, 0.4, 0.36, 0.2, 0.45, 0.9])
    assert speech_frames(probs).tolist() == [False, True, True, True, False, False, True]


@pytest.fixture(scope="module")
def permissive_cm():
    # a threshold far below any score: anything the gate lets through would be called bona fide
    return SpoofDetector.from_pretrained("debug_cm", random_init=True, threshold=-1e9)


@pytest.mark.parametrize("seconds", [1.0, 6.0])
def test_non_speech_is_no_speech_never_bonafide(permissive_cm, seconds):
    signals = gate.non_speech(np.random.default_rng(int(seconds)), seconds)
    dets = permissive_cm.score_arrays(list(signals.values()), 16000, list(signals))
    verdicts = {d.file: d.decision for d in dets}
    assert set(verdicts.values()) == {"no_speech"}, verdicts
    # the energy gate alone would have let noise, tones and music through
    assert active_fraction(signals["white noise"][:16000]) == 1.0


def test_librispeech_one_second_crops_are_speech(shared_dir, permissive_cm):
    files = sorted((shared_dir / "data" / "librispeech-test-other").rglob("*.flac"))[::20]
    if not files:
        pytest.skip("no LibriSpeech test-other files in the shared folder")
    crops = []
    for path in files:
        x, _ = load_audio(path, 16000)
        crops += [x[k * 16000 : (k + 1) * 16000] for k in range(1, min(4, x.size // 16000))]
    dets = permissive_cm.score_arrays(crops, 16000)
    gated = sum(d.decision == "no_speech" for d in dets)
    assert gated <= max(1, 0.02 * len(dets)), f"{gated} of {len(dets)} real-speech crops gated"


def test_telephone_band_digits_are_speech(shared_dir, permissive_cm):
    files = sorted((shared_dir / "data" / "fsdd").rglob("*.flac"))[::50]
    if not files:
        pytest.skip("no FSDD files in the shared folder")
    waves = [load_audio(path, 16000)[0] for path in files]  # 8 kHz, resampled as the API does
    dets = permissive_cm.score_arrays(waves, 16000)
    gated = [d for d in dets if d.decision == "no_speech"]
    assert len(gated) <= max(1, 0.03 * len(dets)), f"{len(gated)} of {len(dets)} digits gated"
    short = [d for d in dets if d.decision != "no_speech" and d.speech_s < 0.5]
    assert short and all(d.warning for d in short)  # short speech: scored, with a warning


def test_speech_fraction_rows(shared_dir):
    files = sorted((shared_dir / "data" / "librispeech-test-other").rglob("*.flac"))[:1]
    if not files:
        pytest.skip("no LibriSpeech test-other files in the shared folder")
    x = load_audio(files[0], 16000)[0][16000:80000]
    both = speech_fraction(np.stack([x, np.zeros_like(x)]), 16000)
    assert both[0] > 0.5 and both[1] == 0.0 and MIN_SPEECH == 0.05


def test_speech_only_cuts_inserted_silence_and_keeps_the_speech(shared_dir):
    files = sorted((shared_dir / "data" / "librispeech-test-other").rglob("*.flac"))[:1]
    if not files:
        pytest.skip("no LibriSpeech test-other files in the shared folder")
    x = load_audio(files[0], 16000)[0]
    base = speech_only(x)
    # 1.5 s of digital silence before, 2 s inserted at a frame boundary in the middle, 1 s after
    cut = (len(x) // 2) // 512 * 512
    z = np.zeros
    padded = np.concatenate([z(24000), x[:cut], z(32000), x[cut:], z(16000)]).astype(np.float32)
    out = speech_only(padded)
    # the 4.5 s of silence go; what stays is the speech kept from the original, give or take
    # the 0.1-s pads next to speech at the new edges (3 frames of 32 ms each, four places)
    assert abs(len(out) - len(base)) <= 4 * 3 * 512 + 512
    assert len(out) < len(padded) - 4 * 16000
    # no sample is invented: every kept stretch is in the input
    assert np.isin(out[out != 0][:2000], padded).all()


def test_speech_only_keeps_inputs_it_cannot_judge(monkeypatch):
    silence = np.zeros(48000, np.float32)
    assert len(speech_only(silence)) == 48000  # no speech found: kept as it is
    noise = np.random.default_rng(0).standard_normal(32000).astype(np.float32) * 0.1
    monkeypatch.setattr(activity, "_silero", lambda: None)  # no Silero VAD installed
    assert np.array_equal(speech_only(noise), noise)
