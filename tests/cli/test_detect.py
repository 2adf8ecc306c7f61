"""``voxguard detect``: reference AASIST scores, JSON records, bad files in the same call."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import voxguard
from voxguard.audio import eval_crop, load_audio
from voxguard.cli.main import main


def _records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_detect_reproduces_official_aasist_scores(shared_dir, capsys):
    anchors = shared_dir / "anchors" / "aasist"
    ref = np.load(anchors / "reference_outputs.npz")
    idx = [i for i, s in enumerate(ref["input_sources"]) if str(s).startswith("librispeech")]
    assert len(idx) == 3
    files = [str(shared_dir / "data" / str(ref["input_sources"][i])) for i in idx]
    weights = str(anchors / "AASIST.pth")
    # the official scores are of the first crop (AASIST eval convention), not the whole file
    rc = main(
        ["detect", *files, "--model", "aasist", "--weights", weights, "--json", "--mode", "crop"]
        + ["--aggregate", "mean"]
    )
    out = capsys.readouterr().out
    assert rc == 0
    records = _records(out)
    assert [r["file"] for r in records] == files
    expected = ref["AASIST_logits"][idx, 1] - ref["AASIST_logits"][idx, 0]
    np.testing.assert_allclose([r["score"] for r in records], expected, atol=1e-3)


def test_detect_json_matches_direct_model_forward(debug_weights, audio_files, capsys):
    files = [str(audio_files["good"]), str(audio_files["good2"])]
    rc = main(["detect", *files, "--model", str(debug_weights["debug_cm"]), "--json"])
    assert rc == 0
    records = _records(capsys.readouterr().out)
    model = voxguard.load_pretrained(debug_weights["debug_cm"])
    for rec, path in zip(records, files, strict=True):
        wav = torch.from_numpy(eval_crop(load_audio(path)[0]))[None]
        logits = model(wav)[0].detach().numpy()
        assert rec["file"] == path
        assert rec["score"] == pytest.approx(float(logits[1] - logits[0]), abs=1e-5)
        assert "decision" not in rec


def test_detect_bad_files_are_reported_and_good_files_scored(debug_weights, audio_files, capsys):
    bad = ["corrupt", "empty", "nan", "text"]
    files = (
        [str(audio_files["good"])]
        + [str(audio_files[k]) for k in bad]
        + [str(audio_files["good2"])]
    )
    files.append(str(audio_files["good"].parent / "missing.wav"))
    rc = main(["detect", *files, "--model", str(debug_weights["debug_cm"]), "--json"])
    captured = capsys.readouterr()
    assert rc != 0
    records = _records(captured.out)
    assert [r["file"] for r in records] == [files[0], files[5]]
    assert all(np.isfinite(r["score"]) for r in records)
    errors = captured.err.strip().splitlines()
    assert len(errors) == 5
    for line, path in zip(errors, files[1:5] + files[6:], strict=True):
        assert line.startswith("voxguard detect: error: ") and path in line
    assert "NaN" in errors[2]


def test_detect_with_calibration_gives_decisions(debug_weights, audio_files, tmp_path, capsys):
    from voxguard.scoring.calibration import AffineCalibrator

    cal = AffineCalibrator(scale=2.0, offset=-1.0)
    cal.save(tmp_path / "cal.json")
    path = str(audio_files["good"])
    main(["detect", path, "--model", str(debug_weights["debug_cm"]), "--json"])
    raw = _records(capsys.readouterr().out)[0]["score"]
    rc = main(
        [
            "detect",
            path,
            "--model",
            str(debug_weights["debug_cm"]),
            "--json",
            "--calibration",
            str(tmp_path / "cal.json"),
        ]
    )
    rec = _records(capsys.readouterr().out)[0]
    assert rc == 0
    assert rec["score"] == pytest.approx(raw)
    assert rec["calibrated"] == pytest.approx(2.0 * raw - 1.0, abs=1e-6)
    assert rec["decision"] == ("bonafide" if 2.0 * raw - 1.0 >= 0 else "spoof")


def test_detect_unknown_model_is_a_clean_error(audio_files, capsys):
    rc = main(["detect", str(audio_files["good"]), "--model", "no_such_model"])
    assert rc == 2
    assert "unknown model 'no_such_model'" in capsys.readouterr().err
