"""SpeakerVerifier decides at a stated operating point: target FAR by default, or a threshold."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voxguard.api import SpeakerVerifier
from voxguard.errors import VoxguardError
from voxguard.scoring.calibration import _FORMAT
from voxguard.scoring.operating_point import far_table


@pytest.fixture()
def calibration(tmp_path):
    rng = np.random.default_rng(0)
    llr_t, llr_n = rng.normal(4, 1, 1000), rng.normal(-4, 1, 10000)
    path = tmp_path / "calibration.json"
    path.write_text(
        json.dumps(
            {
                "format": _FORMAT,
                "scale": 10.0,
                "offset": -5.0,
                "prior": 0.5,
                "operating_points": {"default_far": 0.01, "table": far_table(llr_t, llr_n)},
            }
        )
    )
    return str(path)


def test_default_is_the_one_percent_far_point(calibration):
    v = SpeakerVerifier.from_pretrained("debug_spk", random_init=True, calibration=calibration)
    op = v.operating_point
    assert op.kind == "far" and op.far_target == 0.01 and v.threshold == op.threshold
    assert v.decision_threshold == op.threshold == pytest.approx(-4 + 2.33, abs=0.1)
    assert op.raw_threshold == pytest.approx((op.threshold + 5.0) / 10.0)
    tight = SpeakerVerifier.from_pretrained(
        "debug_spk", random_init=True, calibration=calibration, far=0.001
    )
    assert tight.threshold > v.threshold and "0.1 %" in tight.operating_point.describe()


def test_user_threshold_and_conflicts(calibration):
    cal = calibration
    v = SpeakerVerifier.from_pretrained(
        "debug_spk", random_init=True, calibration=cal, threshold=0.0
    )
    assert v.operating_point.kind == "threshold" and v.threshold == 0.0
    with pytest.raises(VoxguardError, match="not both"):
        SpeakerVerifier.from_pretrained(
            "debug_spk", random_init=True, calibration=cal, threshold=1.0, far=0.01
        )
    with pytest.raises(VoxguardError, match="outside"):
        SpeakerVerifier.from_pretrained("debug_spk", random_init=True, calibration=cal, far=1e-6)


def test_verify_reports_threshold_and_operating_point(calibration):
    v = SpeakerVerifier.from_pretrained("debug_spk", random_init=True, calibration=calibration)
    wav = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    r = v.verify(v.enroll([wav]), wav).to_dict()
    assert r["threshold"] == v.threshold and "false-accept" in r["operating_point"]


def test_uncalibrated_model_has_no_far_table():
    with pytest.raises(VoxguardError, match="no calibration"):
        SpeakerVerifier.from_pretrained("debug_spk", random_init=True, far=0.01)
    v = SpeakerVerifier.from_pretrained("debug_spk", random_init=True)
    assert v.operating_point.kind == "uncalibrated"
