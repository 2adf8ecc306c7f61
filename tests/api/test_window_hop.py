"""A bundle's card sets the window hop of whole-utterance scoring (``hop_samples``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import voxguard
from voxguard.models._hub import save_pretrained


def _spans(detector: voxguard.SpoofDetector, seconds: float) -> list[tuple[float, float]]:
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(int(seconds * 16000))).astype(np.float32)
    return [(s.start_s, s.end_s) for s in detector.score_arrays([x], 16000)[0].segments]


def test_card_hop_overlaps_windows(tmp_path: Path) -> None:
    card = {"crop_samples": 16000, "hop_samples": 8000}
    bundle = save_pretrained(voxguard.create_model("debug_cm"), tmp_path / "b", card)
    det = voxguard.SpoofDetector.from_pretrained(str(bundle))
    # 1-s windows every 0.5 s over 3 s: starts 0, 0.5, ..., 2.0
    assert _spans(det, 3.0) == [(0.5 * k, 0.5 * k + 1.0) for k in range(5)]


def test_explicit_hop_wins_and_no_card_hop_means_no_overlap(tmp_path: Path) -> None:
    card = {"crop_samples": 16000, "hop_samples": 8000}
    bundle = save_pretrained(voxguard.create_model("debug_cm"), tmp_path / "b", card)
    det = voxguard.SpoofDetector.from_pretrained(str(bundle), hop=16000)
    assert _spans(det, 3.0) == [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)]
    plain = save_pretrained(
        voxguard.create_model("debug_cm"), tmp_path / "p", {"crop_samples": 16000}
    )
    assert _spans(voxguard.SpoofDetector.from_pretrained(str(plain)), 3.0) == [
        (0.0, 1.0),
        (1.0, 2.0),
        (2.0, 3.0),
    ]


def test_card_batch_size_is_the_default_and_an_explicit_one_wins(tmp_path: Path) -> None:
    card = {"crop_samples": 16000, "batch_size": 3}
    bundle = save_pretrained(voxguard.create_model("debug_cm"), tmp_path / "b", card)
    calls: list[int] = []
    det = voxguard.SpoofDetector.from_pretrained(str(bundle))
    inner = det.runner.backend
    det.runner.backend = lambda x: calls.append(len(x)) or inner(x)
    x = (0.1 * np.random.default_rng(0).standard_normal(7 * 16000)).astype(np.float32)
    det.score_arrays([x], 16000)
    assert calls == [3, 3, 1]  # 7 one-second windows, 3 at a time
    assert voxguard.SpoofDetector.from_pretrained(str(bundle), batch_size=5).runner.batch_size == 5
    plain = save_pretrained(voxguard.create_model("debug_cm"), tmp_path / "p", {"crop_samples": 16000})
    assert voxguard.SpoofDetector.from_pretrained(str(plain)).runner.batch_size == 16
