"""``voxguard embed / enroll / verify / score / bench / demo`` through ``main([...])``."""

from __future__ import annotations

import json

import numpy as np
import pytest

import voxguard
from voxguard.api import SpeakerVerifier, SpoofDetector, load_embedding
from voxguard.cli.main import main
from voxguard.data.scorefiles import read_cm_scores


def _records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_embed_json_and_npz(debug_weights, audio_files, tmp_path, capsys):
    spk = str(debug_weights["debug_spk"])
    files = [str(audio_files["good"]), str(audio_files["text"]), str(audio_files["good2"])]
    rc = main(["embed", *files, "--model", spk, "--json", "--output", str(tmp_path / "e.npz")])
    captured = capsys.readouterr()
    assert rc == 1
    assert str(audio_files["text"]) in captured.err
    records = _records(captured.out)
    ref = SpeakerVerifier.from_pretrained(spk)
    assert [r["file"] for r in records] == [files[0], files[2]]
    for rec in records:
        np.testing.assert_allclose(rec["embedding"], ref.embed_file(rec["file"]), atol=1e-6)
        assert rec["dim"] == voxguard.create_model("debug_spk").config.embed_dim
    stored = np.load(tmp_path / "e.npz")
    np.testing.assert_allclose(stored[files[2]], records[1]["embedding"], atol=1e-6)


def test_enroll_writes_mean_embedding_and_refuses_bad_files(
    debug_weights, audio_files, tmp_path, capsys
):
    spk = str(debug_weights["debug_spk"])
    good = [str(audio_files["good"]), str(audio_files["good2"])]
    assert main(["enroll", *good, "--model", spk, "-o", str(tmp_path / "alice.npy")]) == 0
    ref = SpeakerVerifier.from_pretrained(spk)
    expected = np.mean([ref.embed_file(f) for f in good], axis=0)
    np.testing.assert_allclose(load_embedding(tmp_path / "alice.npy"), expected, atol=1e-6)
    capsys.readouterr()
    rc = main(
        [
            "enroll",
            good[0],
            str(audio_files["empty"]),
            "--model",
            spk,
            "-o",
            str(tmp_path / "bad.npy"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1 and str(audio_files["empty"]) in err and "nothing written" in err
    assert not (tmp_path / "bad.npy").exists()


def test_verify_fuses_cm_and_asv(debug_weights, audio_files, tmp_path, capsys):
    cm, spk = str(debug_weights["debug_cm"]), str(debug_weights["debug_spk"])
    main(["enroll", str(audio_files["good"]), "--model", spk, "-o", str(tmp_path / "a.json")])
    capsys.readouterr()
    rc = main(
        [
            "verify",
            str(audio_files["good2"]),
            str(audio_files["nan"]),
            "--enrollment",
            str(tmp_path / "a.json"),
            "--cm-model",
            cm,
            "--asv-model",
            spk,
            "--asv-threshold",
            "0.5",
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert rc == 1 and str(audio_files["nan"]) in captured.err
    (rec,) = _records(captured.out)
    cm_score = SpoofDetector.from_pretrained(cm).score_file(audio_files["good2"]).score
    ver = SpeakerVerifier.from_pretrained(spk)
    asv_score = ver.score(ver.embed_file(audio_files["good"]), audio_files["good2"])
    assert rec["cm_score"] == pytest.approx(cm_score, abs=1e-5)
    assert rec["asv_score"] == pytest.approx(asv_score, abs=1e-5)
    accept = cm_score >= 0 and asv_score >= 0.5
    assert rec["decision"] == ("accept" if accept else "reject")
    assert rec["fused"] == pytest.approx(min(cm_score, asv_score - 0.5), abs=1e-5)


def test_score_directory_writes_standard_score_file(debug_weights, audio_files, tmp_path, capsys):
    cm = str(debug_weights["debug_cm"])
    folder = audio_files["good"].parent
    out = tmp_path / "scores.tsv"
    rc = main(["score", str(folder), "-o", str(out), "--model", cm, "--batch-size", "2"])
    captured = capsys.readouterr()
    assert rc == 1
    scores = read_cm_scores(out)
    assert sorted(scores.ids) == ["good", "good2", "long"]
    assert sorted(scores.errors) == ["corrupt", "empty", "nan", "notes"]
    assert "NaN" in scores.errors["nan"]
    det = SpoofDetector.from_pretrained(cm)
    for uid, score in zip(scores.ids, scores.scores, strict=True):
        assert score == pytest.approx(
            det.score_file(folder / f"{uid}{'.flac' if uid == 'good2' else '.wav'}").score, abs=1e-5
        )
    assert out.read_text().startswith("filename\tcm-score\n")
    assert "4 failed" in captured.out


def test_score_list_file_with_relative_paths(debug_weights, audio_files, tmp_path, capsys):
    folder = audio_files["good"].parent
    (folder / "list.txt").write_text("# files\ngood.wav\n\ngood2.flac\n")
    out = tmp_path / "s.txt"
    rc = main(
        [
            "score",
            str(folder / "list.txt"),
            "-o",
            str(out),
            "--model",
            str(debug_weights["debug_cm"]),
            "--format",
            "asvspoof2021",
            "-q",
        ]
    )
    assert rc == 0
    assert [line.split()[0] for line in out.read_text().splitlines()] == ["good", "good2"]
    (folder / "list.txt").unlink()


@pytest.mark.slow  # starting Ray takes 18-32 s on a shared 2-core machine
def test_score_with_ray_executor_matches_local(debug_weights, audio_files, tmp_path, capsys):
    ray = pytest.importorskip("ray")
    folder = audio_files["good"].parent
    args = ["--model", str(debug_weights["debug_cm"]), "-q"]
    try:
        rc = main(
            [
                "score",
                str(folder),
                "-o",
                str(tmp_path / "ray.tsv"),
                "--executor",
                "ray",
                "--num-cpus",
                "1",
                "--chunk-size",
                "2",
                *args,
            ]
        )
    finally:
        ray.shutdown()
    assert rc == 1
    main(["score", str(folder), "-o", str(tmp_path / "local.tsv"), *args])
    ray_scores, local = read_cm_scores(tmp_path / "ray.tsv"), read_cm_scores(tmp_path / "local.tsv")
    assert ray_scores.ids == local.ids and sorted(ray_scores.errors) == sorted(local.errors)
    np.testing.assert_allclose(ray_scores.scores, local.scores, atol=1e-6)


def test_bench_prints_one_row_per_setting(capsys):
    rc = main(
        [
            "bench",
            "--model",
            "debug_cm",
            "--random-init",
            "--seconds",
            "1",
            "2",
            "--repeats",
            "1",
            "--json",
        ]
    )
    rows = _records(capsys.readouterr().out)
    assert rc == 0 and [r["seconds"] for r in rows] == [1.0, 2.0]
    assert all(r["latency_ms"] > 0 and r["throughput_per_s"] > 0 for r in rows)


def test_demo_runs_offline_and_labels_untrained_models(tmp_path, capsys):
    rc = main(["demo", "--save-audio", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    for trial in ("genuine", "impostor-male", "impostor-female", "spoof-griffinlim", "spoof-hifigan-copy",
                  "spoof-hifigan-opus"):
        assert trial in out
    assert out.count("    -> ") >= 6  # one line of explanation per trial: which score crossed what
    if "debug_cm" in out:
        assert "UNTRAINED" in out
    from voxguard.api._load import default_model

    if default_model("spk") is not None:  # the bundled speaker model carries its calibration
        assert "target if LLR >= " in out  # its threshold: the operating point it states
    if default_model("cm") is not None:
        assert "bona fide if LLR >= 0" in out
    assert (tmp_path / "enroll1.wav").is_file() and (tmp_path / "spoof-griffinlim.wav").is_file()
    rc = main(["demo", "--json"])
    records = _records(capsys.readouterr().out)
    assert {r["kind"] for r in records} >= {"target", "nontarget", "spoof"}
    assert all(r["decision"] in ("accept", "reject") for r in records)


def test_detect_expands_directories(debug_weights, audio_files, capsys):
    folder = audio_files["good"].parent
    rc = main(["detect", str(folder), "--model", str(debug_weights["debug_cm"])])
    captured = capsys.readouterr()
    assert rc == 1
    lines = captured.out.strip().splitlines()
    assert sorted(line.split()[-1] for line in lines) == sorted(
        str(audio_files[k]) for k in ("good", "good2", "long")
    )
    assert len(captured.err.strip().splitlines()) == 4
