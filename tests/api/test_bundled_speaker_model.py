"""The bundled speaker model: its card, its hashed calibration and security operating point, and
the demo clips (speakers it never saw)."""

from __future__ import annotations

import json

import pytest

from voxguard.api import SpeakerVerifier
from voxguard.api._load import bundled_dirs, default_model
from voxguard.cli.cmd_demo import DEMO_AUDIO
from voxguard.models._hub import sha256_of


@pytest.fixture(scope="module")
def verifier() -> SpeakerVerifier:
    if default_model("spk") is None:
        pytest.skip("no bundled speaker model")
    return SpeakerVerifier.from_pretrained()


def _card() -> dict:
    return json.loads((bundled_dirs()[default_model("spk")] / "config.json").read_text())["card"]


def test_card_names_teacher_data_and_hashes_every_file():
    card = _card()
    assert "resemblyzer" in card["teacher"].lower() and "Apache-2.0" in card["teacher"]
    assert "LibriSpeech" in card["training_data"] and "test-other" in card["training_data"]
    folder = bundled_dirs()[default_model("spk")]
    for name in ("model.safetensors", "calibration.json"):
        assert card["files"][name] == sha256_of(folder / name)


def test_default_operating_point_is_one_percent_far(verifier):
    op = verifier.operating_point
    assert verifier.score_kind == "llr" and op.kind == "far" and op.far_target == 0.01
    assert verifier.decision_threshold == op.threshold
    strict = SpeakerVerifier.from_pretrained(far=0.001)
    assert strict.threshold > verifier.threshold
    assert "held-out" in _card()["calibration"]["fitted_on"] or "dev" in _card()["calibration"][
        "fitted_on"
    ]


def test_demo_speakers_are_ranked_apart(verifier):
    enrollment = verifier.enroll(
        [DEMO_AUDIO / "speaker_a_enroll1.flac", DEMO_AUDIO / "speaker_a_enroll2.flac"]
    )
    same = verifier.verify(enrollment, DEMO_AUDIO / "speaker_a_test.flac")
    other = verifier.verify(enrollment, DEMO_AUDIO / "speaker_b_test.flac")
    assert same.decision == "accept" and other.decision == "reject", (same, other)
    assert same.calibrated - other.calibrated > 3.0, (same, other)
    assert "false-accept" in same.operating_point
