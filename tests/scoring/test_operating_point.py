"""Security operating points: FAR tables on dev scores and the threshold for a target FAR."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voxguard.errors import VoxguardError
from voxguard.scoring.operating_point import (
    OperatingPoint,
    far_table,
    read_operating_points,
    threshold_for_far,
)


def _scores(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(3.0, 1.0, 2000), rng.normal(-3.0, 1.0, 20000)


def test_far_table_thresholds_hold_their_far_on_the_dev_scores():
    tar, non = _scores()
    table = far_table(tar, non)
    assert [r["far"] for r in table][:4] == [0.1, 0.05, 0.02, 0.01]
    for row in table:
        assert row["dev_far"] <= row["far"] + 1e-12
        assert row["dev_far"] >= row["far"] - 2.0 / non.size
    thr = [r["threshold"] for r in table]
    assert thr == sorted(thr)  # lower FAR -> higher threshold
    assert all(0 <= r["dev_miss"] <= 1 for r in table)


def test_far_below_one_trial_is_not_tabled():
    tar, non = _scores()
    assert min(r["far"] for r in far_table(tar, non[:500])) >= 1 / 500


def test_threshold_for_far_interpolates_and_refuses_outside():
    tar, non = _scores()
    table = far_table(tar, non)
    t1, _ = threshold_for_far(table, 0.01)
    t2, _ = threshold_for_far(table, 0.003)
    t3, _ = threshold_for_far(table, 0.002)
    assert t1 < t2 < t3
    assert t1 == pytest.approx(next(r["threshold"] for r in table if r["far"] == 0.01))
    with pytest.raises(VoxguardError, match="outside"):
        threshold_for_far(table, 0.5)


def test_read_operating_points_and_description(tmp_path):
    tar, non = _scores()
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"format": "x", "operating_points": {"table": far_table(tar, non)}}))
    assert read_operating_points(path)["table"]
    assert read_operating_points(tmp_path / "missing.json") is None
    op = OperatingPoint(1.5, "far", "llr", 0.01, 0.05)
    assert "1 %" in op.describe() and op.to_dict()["far_target"] == 0.01


def test_far_table_by_speaker_weighs_pairs_and_bounds_the_threshold():
    from voxguard.scoring.operating_point import far_table_by_speaker

    rng = np.random.default_rng(0)
    n_spk = 30
    a, b = rng.integers(0, n_spk, 30000), rng.integers(0, n_spk, 30000)
    keep = a != b
    a, b = a[keep], b[keep]
    pair_shift = rng.normal(0.0, 0.7, (n_spk, n_spk))
    pair_shift = (pair_shift + pair_shift.T) / 2
    non = rng.normal(-3.0, 1.0, a.size) + pair_shift[a, b]
    tar = rng.normal(3.0, 1.0, 2000)
    table = far_table_by_speaker(tar, non, a.astype(str), b.astype(str), n_boot=200)
    pooled = {r["far"]: r["threshold"] for r in far_table(tar, non)}
    for row in table:
        assert row["threshold"] >= row["threshold_point"]  # an upper bound, never below
        assert row["dev_far_pairs"] <= row["far"] + 1e-9
        assert row["threshold_point"] == pytest.approx(pooled[row["far"]], abs=0.15)
    assert [r["threshold"] for r in table] == sorted(r["threshold"] for r in table)
    with pytest.raises(VoxguardError, match="two different speakers"):
        far_table_by_speaker(tar, non[:3], ["x", "y", "z"], ["x", "q", "r"])
