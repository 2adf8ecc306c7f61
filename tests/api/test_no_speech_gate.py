"""Never a bona fide verdict on silence: the speech-activity gate of SpoofDetector/SASVSystem."""

import numpy as np
import pytest

from voxguard.api import SASVSystem, SpeakerVerifier, SpoofDetector
from voxguard.audio.activity import active_fraction
from voxguard.testing.audio import synthetic_speech


def test_active_fraction_levels():
    sr = 16000
    loud = 0.1 * np.ones(sr)  # -20 dBFS
    quiet = 1e-4 * np.ones(sr)  # -80 dBFS
    assert active_fraction(loud, sr) == 1.0
    assert active_fraction(quiet, sr) == 0.0
    half = np.concatenate([loud[: sr // 2], quiet[: sr // 2]])
    assert active_fraction(half, sr) == pytest.approx(0.5)
    assert active_fraction(np.stack([loud, quiet]), sr).tolist() == [1.0, 0.0]


@pytest.fixture(scope="module")
def permissive_cm():
    # threshold far below any score: every input with speech would be called bona fide
    return SpoofDetector.from_pretrained("debug_cm", random_init=True, threshold=-1e9)


@pytest.mark.parametrize(
    "signal",
    [np.zeros(64600), 1e-4 * np.random.default_rng(0).standard_normal(64600), np.zeros(5)],
    ids=["digital-silence", "near-silence", "5-samples-of-silence"],
)
def test_silence_is_never_bonafide(permissive_cm, signal):
    det = permissive_cm.score_array(signal.astype(np.float32))
    assert det.decision == "no_speech" and det.speech_fraction == 0.0
    assert np.isfinite(det.score)  # the raw score is still reported for evaluation


def test_speech_gets_a_verdict(permissive_cm):
    det = permissive_cm.score_array(synthetic_speech(2.0))
    assert det.decision == "bonafide" and det.speech_fraction > 0.5


def test_sasv_rejects_silence_even_for_the_enrolled_speaker(permissive_cm):
    asv = SpeakerVerifier.from_pretrained("debug_spk", random_init=True, threshold=-1.0)
    system = SASVSystem(permissive_cm, asv)
    silence = np.zeros(32000, dtype=np.float32)
    enrolled = asv.embed_array(silence)
    result = system.verify(enrolled, silence, 16000)
    assert result.asv_decision == "accept"  # same signal as enrolled: ASV alone would accept
    assert result.cm_decision == "no_speech" and result.decision == "reject"
