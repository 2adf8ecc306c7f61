"""One meaning for every score: the same trial gives the same score kind, threshold and decision
word in the Python API, ``voxguard detect/verify`` text and JSON, and the REST service (the web
page is checked in test_web.py with the same models).

The CM is calibrated (it decides on an LLR), the speaker model is not (it decides on a cosine),
so both kinds of score are covered.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest

import voxguard.audio.activity as activity
from voxguard.api import SASVSystem, SpeakerVerifier, SpoofDetector
from voxguard.cli.main import main
from voxguard.scoring.calibration import AffineCalibrator
from voxguard.serving import ServiceSettings, create_app
from voxguard.testing.audio import write_wav
from voxguard.testing.files import save_debug_weights

KIND = r"(llr|logit difference|cosine)"
NUM = r"([+-]\d+\.\d+)"


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    """Calibrated debug CM + uncalibrated debug speaker model, an enrollment and a test file,
    and the Python API's answer for the trial."""
    root = tmp_path_factory.mktemp("surfaces")
    models = save_debug_weights(root, cm_calibration=AffineCalibrator(scale=2.0, offset=-1.0))
    enroll = write_wav(root / "enroll.wav", 2.0, seed=5)
    test = write_wav(root / "test.wav", 2.0, seed=6)
    cm = SpoofDetector.from_pretrained(str(models["debug_cm"]))
    asv = SpeakerVerifier.from_pretrained(str(models["debug_spk"]))
    with pytest.MonkeyPatch.context() as mp:  # the tests' energy gate (conftest), as the
        mp.setattr(activity, "_silero", lambda: None)  # requests below see it
        det = cm.score_file(test)
        res = SASVSystem(cm, asv).verify(asv.enroll([enroll]), test)
    return {"models": models, "enroll": enroll, "test": test, "det": det, "res": res}


def expected(t):
    """(kind, threshold, decision) of the CM, of the ASV, and the fused decision, from the API."""
    det, res = t["det"], t["res"]
    assert det.score_kind == res.cm_score_kind == "llr"
    assert res.asv_score_kind == "cosine"
    assert det.decision == res.cm_decision and det.threshold == res.cm_threshold == 0.0
    assert det.decision_score == pytest.approx(det.calibrated)
    return {
        "cm": ("llr", 0.0, det.decision, det.decision_score),
        "asv": ("cosine", res.asv_threshold, res.asv_decision, res.asv_decision_score),
        "decision": res.decision,
    }


def _same(got, want):
    kind, thr, word, value = got
    assert (kind, word) == want[:1] + want[2:3]
    assert thr == pytest.approx(want[1], abs=1e-3) and value == pytest.approx(want[3], abs=1e-3)


def test_api_fields(trial):
    exp = expected(trial)
    assert trial["det"].to_dict()["score_kind"] == "llr"
    assert trial["det"].operating_point.startswith("equal priors")
    assert exp["asv"][2] in ("accept", "reject") and exp["decision"] in ("accept", "reject")
    rec = trial["res"].to_dict()
    assert rec["asv_operating_point"].startswith("uncalibrated")


def test_cli_json(trial, capsys):
    exp, m = expected(trial), trial["models"]
    assert main(["detect", str(trial["test"]), "--model", str(m["debug_cm"]), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    _same((rec["score_kind"], rec["threshold"], rec["decision"], rec["decision_score"]), exp["cm"])
    args = ["verify", str(trial["test"]), "--cm-model", str(m["debug_cm"])]
    args += ["--asv-model", str(m["debug_spk"]), "--enroll", str(trial["enroll"]), "--json"]
    assert main(args) == 0
    rec = json.loads(capsys.readouterr().out)
    for part in ("cm", "asv"):
        got = [
            rec[f"{part}_{k}"] for k in ("score_kind", "threshold", "decision", "decision_score")
        ]
        _same(tuple(got), exp[part])
    assert rec["decision"] == exp["decision"]


def test_cli_text(trial, capsys):
    exp, m = expected(trial), trial["models"]
    assert main(["detect", str(trial["test"]), "--model", str(m["debug_cm"])]) == 0
    line = capsys.readouterr().out.strip()
    g = re.match(rf"^(\S+)\s+{KIND}\s+{NUM}\s+threshold {NUM}", line)
    assert g, line
    _same((g[2], float(g[4]), g[1], float(g[3])), exp["cm"])
    assert line.endswith(str(trial["test"]))
    args = ["verify", str(trial["test"]), "--cm-model", str(m["debug_cm"])]
    args += ["--asv-model", str(m["debug_spk"]), "--enroll", str(trial["enroll"])]
    assert main(args) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    part = rf"{KIND}\s+{NUM} threshold {NUM} \((\w+)\)"
    g = re.match(rf"^(accept|reject)\s+cm {part}\s+asv {part}", line)
    assert g, line
    assert g[1] == exp["decision"]
    _same((g[2], float(g[4]), g[5], float(g[3])), exp["cm"])
    _same((g[6], float(g[8]), g[9], float(g[7])), exp["asv"])


def test_rest(trial, thread_server, tmp_path, api_key):
    exp, m = expected(trial), trial["models"]
    settings = ServiceSettings(
        db=str(tmp_path / "s.sqlite"),
        api_key=api_key,
        cm_model=str(m["debug_cm"]),
        spk_model=str(m["debug_spk"]),
        score_rate=0,
    )
    with thread_server(create_app(settings)) as srv, httpx.Client(base_url=srv.url) as c:
        files = {"file": ("test.wav", trial["test"].read_bytes())}
        d = c.post("/detect", files=files).json()
        enroll = {"files": ("enroll.wav", trial["enroll"].read_bytes())}
        r = c.post(
            "/enroll", data={"speaker_id": "s"}, files=enroll, headers={"X-API-Key": api_key}
        )
        assert r.status_code == 200, r.text
        v = c.post("/verify", data={"speaker_id": "s"}, files=files).json()
        info = c.get("/info").json()
    _same((d["cm_score_kind"], d["cm_threshold"], d["decision"], d["cm_decision_score"]), exp["cm"])
    assert d["cm_decision"] == d["decision"]
    assert d["cm_operating_point"] == info["cm_operating_point"]
    for part in ("cm", "asv"):
        got = [v[f"{part}_{k}"] for k in ("score_kind", "threshold", "decision", "decision_score")]
        _same(tuple(got), exp[part])
    assert v["decision"] == exp["decision"] and v["accepted"] == (exp["decision"] == "accept")
    assert (info["cm_threshold_on"], info["asv_threshold_on"]) == ("llr", "cosine")
