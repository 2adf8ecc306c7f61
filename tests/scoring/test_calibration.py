"""Affine calibration: recovers a known LLR map, lowers Cllr, round-trips through JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from voxguard.errors import VoxguardError
from voxguard.metrics import act_dcf, cllr
from voxguard.scoring.calibration import AffineCalibrator, llr_to_posterior


def test_recovers_gaussian_llr():
    # x ~ N(+mu, 1) bona fide, N(-mu, 1) spoof -> true LLR(x) = 2 mu x.
    # Scores s = (x - 3) / 2, so LLR(s) = 4 mu s + 6 mu.
    rng = np.random.default_rng(0)
    mu, n = 1.0, 40000
    x = np.r_[rng.normal(mu, 1, n), rng.normal(-mu, 1, n)]
    labels = np.r_[np.ones(n), np.zeros(n)]
    cal = AffineCalibrator().fit((x - 3) / 2, labels, prior=0.5)
    assert cal.scale == pytest.approx(4 * mu, rel=0.03)
    assert cal.offset == pytest.approx(6 * mu, rel=0.03)


def test_prior_does_not_change_a_well_specified_fit():
    rng = np.random.default_rng(1)
    n = 40000
    x = np.r_[rng.normal(1, 1, n), rng.normal(-1, 1, n)]
    labels = np.r_[np.ones(n), np.zeros(n)]
    a = AffineCalibrator().fit(x, labels, prior=0.5)
    b = AffineCalibrator().fit(x, labels, prior=0.9)
    assert a.scale == pytest.approx(2.0, rel=0.03) and b.scale == pytest.approx(2.0, rel=0.05)
    assert abs(a.offset) < 0.05 and abs(b.offset) < 0.1


def test_lowers_cllr_on_miscalibrated_reference(shared_dir):
    with open(shared_dir / "reference" / "metrics_reference.json") as fh:
        case = json.load(fh)["cm"]["miscalibrated"]
    bona, spoof = np.array(case["bona"]), np.array(case["spoof"])
    assert cllr(bona, spoof) == pytest.approx(case["cllr"], rel=1e-9)
    cal = AffineCalibrator().fit(
        np.r_[bona, spoof], np.r_[np.ones(bona.size), np.zeros(spoof.size)]
    )
    lb, ls = cal.transform(bona), cal.transform(spoof)
    assert cllr(lb, ls) < 0.5 * case["cllr"]
    assert act_dcf(lb, ls)[0] < case["act_dcf"]


def test_save_load_round_trip(tmp_path):
    cal = AffineCalibrator(scale=1.5, offset=-0.25, prior=0.7)
    path = tmp_path / "calib.json"
    cal.save(path)
    back = AffineCalibrator.load(path)
    assert back == cal
    assert AffineCalibrator.from_dict(cal.to_dict()) == cal
    np.testing.assert_allclose(back.transform([0.0, 2.0]), [-0.25, 2.75])


def test_load_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(VoxguardError, match="bad.json"):
        AffineCalibrator.load(bad)
    bad.write_text('{"format": "something-else"}')
    with pytest.raises(VoxguardError, match="voxguard calibrate"):
        AffineCalibrator.load(bad)


def test_fit_needs_both_classes():
    with pytest.raises(VoxguardError, match="both classes"):
        AffineCalibrator().fit([1.0, 2.0], [1, 1])


def test_llr_to_posterior():
    assert llr_to_posterior(0.0, 0.5) == pytest.approx(0.5)
    assert llr_to_posterior(math.log(3), 0.5) == pytest.approx(0.75)
    # prior odds 1/3 times LR 3 -> odds 1 -> 0.5
    assert llr_to_posterior(math.log(3), 0.25) == pytest.approx(0.5)


def test_fit_converges_where_plain_newton_diverged():
    # Regression: undamped Newton gave scale 8159, offset 3e11 on these real dev scores.
    table = np.loadtxt(Path(__file__).parent / "data" / "voxguard_mini_dev_rank1.tsv")
    scores, labels = table[:, 0], table[:, 1]
    cal = AffineCalibrator().fit(scores, labels, prior=0.95)
    assert np.isfinite([cal.scale, cal.offset]).all() and 0 < cal.scale < 50

    def cost(a: float, b: float) -> float:  # the prior-weighted logistic cost, independently
        llr = a * scores + b + np.log(0.95 / 0.05)
        return 0.95 * np.mean(np.logaddexp(0, -llr[labels == 1])) + 0.05 * np.mean(
            np.logaddexp(0, llr[labels == 0])
        )

    best = cost(cal.scale, cal.offset)
    for da, db in [(0.01, 0), (-0.01, 0), (0, 0.01), (0, -0.01)]:
        assert cost(cal.scale + da, cal.offset + db) > best
