"""Composite selection score: hand-computed normalisation, weights, ranks, Pareto front."""

from __future__ import annotations

import json

import pytest

from voxguard.cli.main import main
from voxguard.errors import ParseError, VoxguardError
from voxguard.evaluation.selection import DEFAULT_WEIGHTS, parse_weights, select, select_csv

CSV = """name,EER,minDCF,actDCF,Cllr,MACs,params,latency_ms
A,0.02,0.10,0.2,0.5,100,1000,10
B,0.04,0.20,0.4,1.0,50,500,5
C,0.03,0.15,0.3,0.75,200,2000,20
"""


def test_default_weights_sum_to_one():
    assert sum(DEFAULT_WEIGHTS.values()) == pytest.approx(1.0)


def test_hand_computed_scores(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text(CSV)
    res = select_csv(path)
    by = {r["name"]: r for r in res.rows}
    # A: accuracy/calibration best (0), compute 1/3 each -> cost 0.3 * 1/3 = 0.1
    assert by["A"]["score"] == pytest.approx(0.9)
    # B: accuracy+calibration worst (0.7), compute best -> 0.3
    assert by["B"]["score"] == pytest.approx(0.3)
    # C: 0.5 * 0.5 + 0.2 * 0.5 + 0.3 * 1 = 0.65 -> 0.35
    assert by["C"]["score"] == pytest.approx(0.35)
    assert [r["name"] for r in res.rows] == ["A", "C", "B"]
    assert [r["rank"] for r in res.rows] == [1, 2, 3]
    assert by["A"]["norm_macs"] == pytest.approx(1 / 3)
    # C is dominated by A in both accuracy (0 < 0.5) and compute (1/3 < 1)
    assert {n for n, r in by.items() if r["pareto"]} == {"A", "B"}
    assert res.missing == []


def test_missing_columns_renormalise(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("\n".join(",".join(line.split(",")[:6]) for line in CSV.splitlines()) + "\n")
    res = select_csv(path)
    assert res.missing == ["params", "latency"]
    assert sum(res.weights.values()) == pytest.approx(1.0)
    assert res.weights["eer"] == pytest.approx(0.25 / 0.8)
    by = {r["name"]: r for r in res.rows}
    assert by["A"]["score"] == pytest.approx(1 - (0.1 / 3) / 0.8)


def test_empty_cell_counts_as_worst():
    res = select([{"name": "x", "eer": 0.1}, {"name": "y", "eer": None}, {"name": "z", "eer": 0.3}])
    by = {r["name"]: r for r in res.rows}
    assert by["y"]["norm_eer"] == 1.0 and by["x"]["norm_eer"] == 0.0


def test_weights_parsing():
    w = parse_weights("EER=0.5, latency=0")
    assert w["eer"] == 0.5 and w["latency"] == 0.0 and w["min_dcf"] == 0.25
    with pytest.raises(VoxguardError, match="unknown criterion"):
        parse_weights("speed=1")


def test_bad_csv_value(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("name,EER\nA,0.1\nB,fast\n")
    with pytest.raises(ParseError) as info:
        select_csv(path)
    assert info.value.line_no == 3


def test_cli_select(tmp_path, capsys):
    path = tmp_path / "results.csv"
    path.write_text(CSV)
    assert main(["select", str(path), "--json", "--weights", "macs=0,params=0,latency=0"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in out["rows"]] == ["A", "C", "B"]
    assert out["rows"][0]["score"] == pytest.approx(1.0)
    assert main(["select", str(path)]) == 0
    text = capsys.readouterr().out
    assert "A" in text and "*" in text
