"""The SASV trial list and trial scoring of ``recipes/sasv_mini/run.py``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

RUN = Path(__file__).resolve().parents[2] / "recipes" / "sasv_mini" / "run.py"


@pytest.fixture(scope="module")
def recipe():
    spec = importlib.util.spec_from_file_location("sasv_mini_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows() -> list[tuple[str, str, str]]:
    rows = []
    for spk in ("a", "b", "c"):
        rows += [(spk, f"{spk}_b{i}", "bonafide") for i in range(5)]
        rows += [(spk, f"{spk}_s{i}", "spoof") for i in range(2)]
    return sorted(rows, key=lambda r: r[1])


def test_trials_follow_the_protocol(recipe) -> None:
    trials = recipe.build_trials(_rows())
    labels = [t[2] for t in trials]
    # 3 speakers x (5 - 3 enrolled) targets, x 10 other bona fide, x 2 own spoofs
    assert labels.count("target") == 6
    assert labels.count("nontarget") == 30
    assert labels.count("spoof") == 6
    enroll_a = {tuple(t[3]) for t in trials if t[0] == "a"}
    assert enroll_a == {("a_b0", "a_b1", "a_b2")}
    assert ("a", "a_b3", "target") in {t[:3] for t in trials}
    assert ("a", "b_s0", "spoof") not in {t[:3] for t in trials}
    assert not any(t[1] in t[3] for t in trials)


def test_trial_scores_are_cosines_to_the_mean_enrollment(recipe) -> None:
    utts = ["e1", "e2", "x"]
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 0.0]], dtype=np.float32)
    cm = np.array([0.1, 0.2, 0.7])
    trials = [("s", "x", "target", ["e1", "e2"])]
    asv, cms = recipe.trial_scores(trials, utts, cm, emb)
    # mean enrollment (0.5, 0.5) vs (3, 0): cos = 1/sqrt(2)
    assert asv[0] == pytest.approx(1 / np.sqrt(2))
    assert cms[0] == pytest.approx(0.7)
