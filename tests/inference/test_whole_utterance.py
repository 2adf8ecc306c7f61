"""Whole-utterance CM scoring: windows cover the input, the worst window with speech decides."""

from __future__ import annotations

import numpy as np
import pytest

from voxguard.api._load import Loaded
from voxguard.api.detector import SpoofDetector
from voxguard.inference.aggregate import aggregate_scores, check_aggregate, eligible_windows
from voxguard.inference.runner import WindowPolicy
from voxguard.testing.audio import synthetic_speech

SR = 16000


class BuzzMeter:
    """A stand-in CM: bona fide logit falls with the share of energy above 4 kHz.

    ``synthetic_speech`` is low-passed speech-like audio (genuine-like here); a pulse train
    (flat harmonics) plays the spoofed segment.
    """

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        spec = np.abs(np.fft.rfft(batch, axis=1)) ** 2
        high = spec[:, spec.shape[1] // 2 :].sum(1) / (spec.sum(1) + 1e-12)
        score = 2.0 - 40.0 * high
        return np.stack([np.zeros_like(score), score], axis=1).astype(np.float32)


def detector(aggregate: str = "min", mode: str = "windows") -> SpoofDetector:
    loaded = Loaded("buzz_meter", "cm", None, {"sample_rate": SR})
    policy = WindowPolicy(length=4 * SR, mode=mode, long_file_s=20.0)
    det = SpoofDetector(loaded, BuzzMeter(), policy, threshold=0.0)
    det.aggregate = check_aggregate(aggregate)
    return det


def buzz(seconds: float) -> np.ndarray:
    """A 160 Hz pulse train: flat harmonics up to Nyquist."""
    x = np.zeros(int(seconds * SR), dtype=np.float32)
    x[::100] = 0.8
    return x


def test_genuine_prefix_does_not_hide_a_spoofed_segment():
    x = np.concatenate([synthetic_speech(4.0, seed=1), buzz(15.0)])
    whole = detector("min").score_array(x)
    first = detector("mean", mode="crop").score_array(x)
    mean = detector("mean").score_array(x)
    scores = [s.score for s in whole.segments]
    assert whole.n_windows == 5 and len(scores) == 5
    assert scores[0] > 0 > max(scores[1:])  # the genuine prefix, then the spoofed part
    assert whole.score == pytest.approx(min(scores))
    assert whole.decision == "spoof"
    assert first.decision == "bonafide"  # the first crop alone accepts the file
    assert mean.score > whole.score
    starts = [s.start_s for s in whole.segments]
    assert starts == [0.0, 4.0, 8.0, 12.0, 15.0]  # the last window is aligned to the end
    assert whole.segments[-1].end_s == pytest.approx(19.0)


def test_windows_without_enough_speech_do_not_decide():
    scores = np.array([1.0, -5.0, 0.5])
    speech = np.array([0.9, 0.1, 0.6])
    assert eligible_windows(speech).tolist() == [True, False, True]
    assert aggregate_scores(scores, speech, "min") == 0.5
    assert aggregate_scores(scores, speech, "mean") == pytest.approx(0.75)
    assert aggregate_scores(scores, None, "min") == -5.0
    # no window with half speech: the windows with the most speech decide
    assert aggregate_scores(scores, np.array([0.1, 0.3, 0.2]), "min") == -5.0
    assert aggregate_scores(np.arange(11.0), None, "p10") == pytest.approx(1.0)


@pytest.mark.parametrize("bad", ["max", "p", "p101", "median"])
def test_unknown_aggregates_are_refused(bad):
    with pytest.raises(ValueError, match="aggregate"):
        check_aggregate(bad)


def test_short_input_is_one_tiled_window_with_a_warning():
    det = detector().score_array(synthetic_speech(0.3, seed=2))
    assert det.n_windows == 1 and det.segments[0].end_s == pytest.approx(0.3)
    assert det.warning and "unreliable" in det.warning
    assert det.decision in ("bonafide", "spoof")  # still scored
    assert det.speech_s == pytest.approx(0.3 * det.speech_fraction, abs=1e-3)


def test_long_arrays_stream_and_keep_every_window():
    x = np.concatenate([synthetic_speech(20.0, seed=3), buzz(10.0)])  # over long_file_s
    det = detector().score_array(x)
    assert det.n_windows == 8 and det.segments[-1].end_s == pytest.approx(30.0)
    assert det.score == pytest.approx(min(s.score for s in det.segments if s.used))
