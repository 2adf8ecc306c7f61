"""``voxguard evaluate cm|sasv|sv`` and ``voxguard calibrate`` on files written from the
reference score lists; JSON values must equal the reference to 1e-9 relative."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voxguard.cli.main import main

REL = 1e-9


@pytest.fixture(scope="module")
def ref(shared_dir):
    with open(shared_dir / "reference" / "metrics_reference.json") as fh:
        return json.load(fh)


def _write_cm_tsv(tmp_path, bona, spoof, name="case"):
    scores, keys = tmp_path / f"{name}_scores.tsv", tmp_path / f"{name}_keys.tsv"
    ids = [f"E_{i:07d}" for i in range(len(bona) + len(spoof))]
    values = list(bona) + list(spoof)
    labels = ["bonafide"] * len(bona) + ["spoof"] * len(spoof)
    # repr() keeps every float exactly; keys are written in reverse order to exercise the join
    scores.write_text(
        "filename\tcm-score\n" + "".join(f"{u}\t{v!r}\n" for u, v in zip(ids, values, strict=True))
    )
    keys.write_text(
        "filename\tcm-label\n"
        + "".join(f"{u}\t{y}\n" for u, y in reversed(list(zip(ids, labels, strict=True))))
    )
    return scores, keys


@pytest.mark.parametrize("case", ["separable", "tied", "small_overlap", "miscalibrated"])
def test_evaluate_cm_json_matches_reference(ref, tmp_path, capsys, case):
    c = ref["cm"][case]
    scores, keys = _write_cm_tsv(tmp_path, c["bona"], c["spoof"])
    assert main(["evaluate", "cm", str(scores), str(keys), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("eer", "min_dcf", "act_dcf", "cllr"):
        assert out[key] == pytest.approx(c[key], rel=REL), key
    assert out["min_tdcf"] == pytest.approx(c["min_tdcf_revised_asvspoof5_asv"], rel=REL)
    assert 0.0 <= out["min_cllr"] <= out["cllr"]
    assert out["n_bonafide"] == len(c["bona"]) and out["n_spoof"] == len(c["spoof"])


def test_evaluate_cm_reports_failed_rows(ref, tmp_path, capsys):
    c = ref["cm"]["separable"]
    scores, keys = _write_cm_tsv(tmp_path, c["bona"], c["spoof"])
    with open(keys, "a") as fh:
        fh.write("E_broken\tspoof\n")
    with open(scores, "a") as fh:
        fh.write("E_broken\tnan\terror=cannot decode audio\n")
    assert main(["evaluate", "cm", str(scores), str(keys), "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["eer"] == pytest.approx(c["eer"], rel=REL)
    assert out["n_errors"] == 1 and out["n_unscored"] == 0
    assert "1 rows" in captured.err


def test_evaluate_cm_2019_protocol_breakdown_and_plot(tmp_path, capsys):
    rng = np.random.default_rng(0)
    lines_p, lines_s = [], []
    for i in range(60):
        attack = "-" if i < 20 else ("A01" if i < 40 else "A02")
        key = "bonafide" if attack == "-" else "spoof"
        # A01 spoofs are perfectly separated from bona fide; A02 spoofs are not
        score = (
            rng.normal(3, 0.5)
            if key == "bonafide"
            else (rng.normal(-3, 0.5) if attack == "A01" else rng.normal(3, 0.5))
        )
        lines_p.append(f"LA_0001 LA_E_{i} - {attack} {key}")
        lines_s.append(f"LA_E_{i} {attack} {key} {score!r}")
    proto, scores = tmp_path / "protocol.txt", tmp_path / "scores.txt"
    proto.write_text("\n".join(lines_p) + "\n")
    scores.write_text("\n".join(lines_s) + "\n")
    plots = tmp_path / "plots"
    assert (
        main(
            [
                "evaluate",
                "cm",
                str(scores),
                str(proto),
                "--json",
                "--breakdown",
                "--plot",
                str(plots),
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    per_attack = {r["group"]: r for r in out["per_attack"]}
    assert per_attack["A01"]["eer"] == 0.0 and per_attack["A01"]["n_spoof"] == 20
    assert per_attack["A02"]["eer"] > 0.2
    for name in ("det.png", "hist.png"):
        assert (plots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_sasv_json_matches_reference(ref, tmp_path, capsys):
    t = ref["tandem"]
    path = tmp_path / "sasv.txt"
    rows = []
    for label in ("target", "nontarget", "spoof"):
        rows += [
            f"spk{i % 7} utt{label}{i} {s!r} {label}" for i, s in enumerate(t[f"sasv_{label}"])
        ]
    path.write_text("\n".join(rows) + "\n")
    assert main(["evaluate", "sasv", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["min_a_dcf"] == pytest.approx(t["min_a_dcf_default"], rel=REL)
    assert out["min_a_dcf_asvspoof5"] == pytest.approx(t["min_a_dcf_asvspoof5_track2"], rel=REL)
    for key in ("sasv_eer", "sv_eer", "spf_eer"):
        assert out[key] == pytest.approx(t[key], rel=REL), key


def test_evaluate_sv_with_trials(tmp_path, capsys):
    # the hand example of tests/metrics/test_metrics.py: EER 1/3, minDCF 1/3
    scores, trials = tmp_path / "scores.txt", tmp_path / "trials.txt"
    scores.write_text("a t1 1.0\na t2 2.0\na t3 3.0\nb n1 0.0\nb n2 1.5\nb x 9.0\n")
    trials.write_text("1 a t1\n1 a t2\n1 a t3\n0 b n1\n0 b n2\n")
    assert main(["evaluate", "sv", str(scores), str(trials), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["eer"] == pytest.approx(1 / 3)
    assert out["min_dcf_p01"] == pytest.approx(1 / 3)
    assert out["n_target"] == 3 and out["n_nontarget"] == 2


def test_parse_error_is_one_line_exit_2(tmp_path, capsys):
    scores, keys = tmp_path / "s.txt", tmp_path / "k.txt"
    scores.write_text("u1 0.5\nu2 zero\n")
    keys.write_text("S u1 - - bonafide\nS u2 - A01 spoof\n")
    assert main(["evaluate", "cm", str(scores), str(keys)]) == 2
    err = capsys.readouterr().err
    assert f"{scores}:2:" in err and "Traceback" not in err


def test_calibrate_fit_and_apply(ref, tmp_path, capsys):
    c = ref["cm"]["miscalibrated"]
    scores, keys = _write_cm_tsv(tmp_path, c["bona"], c["spoof"])
    calib = tmp_path / "calib.json"
    assert main(["calibrate", str(scores), str(keys), "--out", str(calib), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["before"]["cllr"] == pytest.approx(c["cllr"], rel=REL)
    assert report["after"]["cllr"] < report["before"]["cllr"]
    assert json.loads(calib.read_text())["format"] == "voxguard-affine-calibration"
    out = tmp_path / "calibrated.tsv"
    assert main(["calibrate", "--apply", str(calib), str(scores), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "cm", str(out), str(keys), "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["cllr"] == pytest.approx(report["after"]["cllr"], rel=1e-9)
    assert after["eer"] == pytest.approx(c["eer"], rel=REL)  # affine map keeps the ranking


def test_evaluate_cm_with_own_asv_scores(ref, tmp_path, capsys):
    t = ref["tandem"]
    scores, keys = _write_cm_tsv(tmp_path, t["cm_bona"], t["cm_spoof"])
    asv = tmp_path / "asv_scores.txt"  # ASVspoof 2019 ASV score file: SRC KEY SCORE
    rows = [f"bonafide target {s!r}" for s in t["asv_target"]]
    rows += [f"bonafide nontarget {s!r}" for s in t["asv_nontarget"]]
    rows += [f"A07 spoof {s!r}" for s in t["asv_spoof"]]
    asv.write_text("\n".join(rows) + "\n")
    assert main(["evaluate", "cm", str(scores), str(keys), "--asv-scores", str(asv), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["min_tdcf"] == pytest.approx(t["min_tdcf_revised"], rel=REL)
    assert out["min_tdcf_legacy"] == pytest.approx(t["min_tdcf_legacy_2019"], rel=REL)
    assert out["asv_rates"]["pfa"] == pytest.approx(t["Pfa_asv"], rel=REL)


def test_evaluate_cm_warns_about_unscored_keys(ref, tmp_path, capsys):
    c = ref["cm"]["separable"]
    scores, keys = _write_cm_tsv(tmp_path, c["bona"], c["spoof"])
    with open(keys, "a") as fh:
        fh.write("E_unscored_1\tspoof\nE_unscored_2\tbonafide\n")
    assert main(["evaluate", "cm", str(scores), str(keys), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["n_unscored"] == 2
    assert "warning: 2 keyed trials have no score" in captured.err
