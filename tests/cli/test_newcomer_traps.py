"""Issue 17's traps: ``score --raw``, ``complexity`` on bundled names and the model's crop,
``calibrate`` on separable dev scores, ``models`` columns, ``--no-progress``."""

from __future__ import annotations

import json

import pytest

import voxguard
from voxguard.api._load import bundled_dirs
from voxguard.cli.main import main
from voxguard.data.scorefiles import read_cm_scores
from voxguard.scoring.calibration import AffineCalibrator
from voxguard.testing.audio import write_wav
from voxguard.testing.files import save_debug_weights


def test_score_writes_llrs_and_raw_scores_with_raw(tmp_path, capsys):
    models = save_debug_weights(tmp_path / "m", cm_calibration=AffineCalibrator(2.0, -1.0))
    wav = write_wav(tmp_path / "in" / "a.wav", 1.0, seed=3)
    cm = str(models["debug_cm"])
    llr, raw = tmp_path / "llr.tsv", tmp_path / "raw.tsv"
    assert main(["score", str(wav.parent), "-o", str(llr), "--model", cm, "-q"]) == 0
    assert "calibrated LLRs" in capsys.readouterr().out
    assert main(["score", str(wav.parent), "-o", str(raw), "--model", cm, "-q", "--raw"]) == 0
    assert "raw scores" in capsys.readouterr().out
    (s_llr,), (s_raw,) = read_cm_scores(llr).scores, read_cm_scores(raw).scores
    assert s_llr == pytest.approx(2.0 * s_raw - 1.0, abs=1e-5)


def test_complexity_uses_the_models_crop(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    weights = voxguard.save_pretrained(
        voxguard.create_model("debug_cm"), tmp_path / "w", card={"crop_samples": 24_000}
    )
    assert main(["complexity", str(weights), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["input"]["samples"] == 24_000
    assert main(["complexity", str(weights), "--json", "--seconds", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["input"]["samples"] == 16_000


def test_complexity_accepts_a_bundled_name(capsys):
    if "bccmt_tiny_ge2e_kd" not in bundled_dirs():
        pytest.skip("the bundled speaker model is absent")
    assert main(["complexity", "bccmt_tiny_ge2e_kd", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] > 0


def _cm_files(tmp_path, bona, spoof):
    scores, keys = tmp_path / "s.tsv", tmp_path / "k.tsv"
    ids = [f"E_{i:04d}" for i in range(len(bona) + len(spoof))]
    labels = ["bonafide"] * len(bona) + ["spoof"] * len(spoof)
    rows = zip(ids, bona + spoof, labels, strict=True)
    scores.write_text("filename\tcm-score\n" + "".join(f"{u}\t{v!r}\n" for u, v, _ in rows))
    keys.write_text(
        "filename\tcm-label\n" + "".join(f"{u}\t{y}\n" for u, y in zip(ids, labels, strict=True))
    )
    return scores, keys


def test_calibrate_warns_on_separable_dev_scores(tmp_path, capsys):
    scores, keys = _cm_files(tmp_path, [1.0, 2.0, 3.5], [-1.0, -2.5, -3.0])
    out = tmp_path / "c.json"
    assert main(["calibrate", str(scores), str(keys), "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    assert "perfectly separable" in captured.err
    assert "perfectly separable" in json.loads(captured.out)["warning"]
    sharp = AffineCalibrator.load(out).scale
    args = ["calibrate", str(scores), str(keys), "--out", str(out), "--l2", "0.01"]
    assert main(args) == 0
    assert 0 < AffineCalibrator.load(out).scale < sharp  # --l2 tempers the fit
    capsys.readouterr()
    scores, keys = _cm_files(tmp_path, [1.0, -1.5, 3.5], [-1.0, 1.5, -3.0])
    assert main(["calibrate", str(scores), str(keys), "--out", str(out)]) == 0
    assert "separable" not in capsys.readouterr().err


def test_models_columns_fit_long_names(capsys):
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = set(voxguard.list_models())
    assert lines and all(line.split()[0] in names for line in lines)
    starts = {line.index(line.split()[1], len(line.split()[0])) for line in lines}
    assert len(starts) == 1  # the task column lines up, whatever the name length


def test_no_progress_flag(tmp_path, capsys):
    models = save_debug_weights(tmp_path / "m")
    files = [str(write_wav(tmp_path / f"{i}.wav", 0.5, seed=i)) for i in range(2)]
    spk = str(models["debug_spk"])
    assert main(["embed", *files, "--model", spk, "--no-progress"]) == 0
    out = tmp_path / "e.npy"
    assert main(["enroll", *files, "--model", spk, "-o", str(out), "--no-progress"]) == 0
    assert "%|" not in capsys.readouterr().err  # no bar (and none when stderr is not a TTY)
