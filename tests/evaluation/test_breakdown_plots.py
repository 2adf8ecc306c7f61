"""Per-attack / per-condition breakdown and PNG plots."""

from __future__ import annotations

import numpy as np
import pytest

from voxguard.evaluation import breakdown, format_table
from voxguard.evaluation.plots import plot_det, plot_histogram, probit

PNG = b"\x89PNG\r\n\x1a\n"


def test_breakdown_by_attack_and_condition():
    scores = np.array([2.0, 3.0, 0.5, -1.0, -2.0, 2.5, 1.0, 4.0])
    labels = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    attacks = ["bonafide"] * 3 + ["A01", "A01", "A02", "A02", "A02"]
    rows = breakdown(scores, labels, attacks, by="attack")
    assert [r["group"] for r in rows] == ["A01", "A02"]
    assert rows[0]["eer"] == 0.0 and rows[0]["n_bonafide"] == 3 and rows[0]["n_spoof"] == 2
    assert rows[1]["eer"] > 0.3
    conds = ["c1", "c2", "c1", "c1", "c2", "c2", "c1", "c3"]
    rows = breakdown(scores, labels, conds, by="condition")
    assert [r["group"] for r in rows] == ["c1", "c2"]  # c3 has no bona fide trial
    assert rows[0]["n_bonafide"] == 2 and rows[0]["n_spoof"] == 2
    text = format_table(rows, title="condition")
    assert text.splitlines()[0].startswith("condition") and len(text.splitlines()) == 3


def test_probit_known_values():
    np.testing.assert_allclose(probit([0.5, 0.975]), [0.0, 1.959963984540054], atol=1e-9)


def test_plots_write_png(tmp_path):
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(0)
    bona, spoof = rng.normal(2, 1, 20000), rng.normal(-2, 1, 30000)
    det = plot_det({"sys": (bona, spoof)}, tmp_path / "sub" / "det.png")
    hist = plot_histogram({"bona fide": bona, "spoof": spoof}, tmp_path / "hist.png", threshold=0.0)
    assert det.read_bytes()[:8] == PNG and hist.read_bytes()[:8] == PNG
