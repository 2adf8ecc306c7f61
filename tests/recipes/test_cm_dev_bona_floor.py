"""``recipes/cm/dev_bona_floor.py``: a file's noise floor and the rank correlation it reports."""

from __future__ import annotations

import numpy as np
import pytest


def test_the_floor_is_the_quiet_frames_level(import_recipe) -> None:
    # 20 frames of a 0.01-amplitude square wave (RMS exactly -40 dBFS) and 80 of a 0.1 one
    # (-20 dBFS): the 10th percentile of the frame levels is the quiet part's -40 dBFS
    diag = import_recipe("cm", "dev_bona_floor")
    frame = np.tile([1.0, -1.0], 200).astype(np.float32)  # 400 samples = one 25-ms frame
    x = np.concatenate([np.tile(0.01 * frame, 20), np.tile(0.1 * frame, 80)])
    assert abs(diag.floor_dbfs(x) - (-40.0)) < 1e-6
    assert abs(diag.floor_dbfs(x[: 20 * 400 - 1]) - (-40.0)) < 1e-6  # a partial last frame is dropped


def test_rank_correlation_of_monotone_and_reversed_orders(import_recipe) -> None:
    diag = import_recipe("cm", "dev_bona_floor")
    a = np.array([-70.0, -60.0, -50.0, -40.0])
    assert diag.rank_correlation(a, np.exp(a / 10)) == pytest.approx(1.0)
    assert diag.rank_correlation(a, -a) == pytest.approx(-1.0)
