"""The bundled speaker model and its calibration on the demo clips (speakers it never saw)."""

from __future__ import annotations

import json

import pytest

from voxguard.api import SpeakerVerifier
from voxguard.api._load import bundled_dirs, default_model
from voxguard.cli.cmd_demo import DEMO_AUDIO


@pytest.fixture(scope="module")
def verifier() -> SpeakerVerifier:
    if default_model("spk") is None:
        pytest.skip("no bundled speaker model")
    return SpeakerVerifier.from_pretrained()


def test_bundled_calibration_is_applied_and_described(verifier):
    assert verifier.score_kind == "llr" and verifier.decision_threshold == 0.0
    card = json.loads((bundled_dirs()[default_model("spk")] / "config.json").read_text())["card"]
    assert "demo" in card["calibration"]["fitted_on"]  # fitted without the demo speakers
    assert card["calibration"]["leave_one_speaker_out"]["cllr_bits"] < 1.0


def test_demo_speakers_are_ranked_apart(verifier):
    enrollment = verifier.enroll(
        [DEMO_AUDIO / "speaker_a_enroll1.flac", DEMO_AUDIO / "speaker_a_enroll2.flac"]
    )
    same = verifier.verify(enrollment, DEMO_AUDIO / "speaker_a_test.flac")
    other = verifier.verify(enrollment, DEMO_AUDIO / "speaker_b_test.flac")
    # the genuine trial is accepted with a wide margin over the impostor (whose LLR sits near
    # the threshold with this small model: see recipes/librispeech_spk/README.md)
    assert same.decision == "accept", same
    assert same.calibrated - other.calibrated > 3.0, (same, other)
