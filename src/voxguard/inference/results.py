"""The result types of scoring: :class:`Detection` (one input) and :class:`Segment` (one window).

They live below :mod:`voxguard.api` so that the executors, which return them from worker
processes, need not import the API (the dependency flow is one way: inference -> api -> cli);
``voxguard.api.Detection`` is the same class.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Segment:
    """One scored window: where it lies in the input, its score and how much of it is speech.

    Attributes:
        start_s: window start in seconds.
        end_s: window end in seconds (a short input tile-repeated into one window: its length).
        score: raw CM score of the window.
        llr: calibrated LLR of the window, when a calibration is set.
        speech: fraction of the window that is speech.
        used: whether the window took part in the utterance score (enough speech).
    """

    start_s: float
    end_s: float
    score: float
    llr: float | None = None
    speech: float = 1.0
    used: bool = True


@dataclass
class Detection:
    """The CM result for one input.

    Attributes:
        file: the file path or array label.
        score: raw CM score ``logit[1] - logit[0]`` (higher = bona fide), aggregated over the
            windows (see the module docstring); ``nan`` on error.
        calibrated: the calibrated LLR, when a calibration is set.
        decision: ``bonafide`` / ``spoof`` when a calibration or threshold is set;
            ``no_speech`` (whatever the score) when less than ``min_speech`` of the scored
            audio is speech: never a bona fide verdict on silence, noise, tones or music.
        speech_fraction: fraction of the scored audio that is speech.
        speech_s: seconds of speech in the scored audio.
        n_windows: number of windows scored (1 for a single crop).
        duration_s: input duration in seconds.
        aggregate: how the window scores were combined (``min``, ``mean``, ``p<q>``).
        segments: the scored windows (:class:`Segment`).
        warning: set when the score is unreliable (less than 0.5 s of speech).
        error: the error message when the input could not be scored.
        decision_score: the score the decision thresholded: ``calibrated`` when set, else
            ``score``.
        score_kind: what ``decision_score`` is: ``llr``, ``logit difference`` or ``cosine``.
        threshold: the threshold ``decision_score`` was compared with (``>=``: bona fide).
        operating_point: one line saying where the threshold comes from.
    """

    file: str
    score: float
    calibrated: float | None = None
    decision: str | None = None
    n_windows: int = 0
    duration_s: float = 0.0
    error: str | None = None
    speech_fraction: float | None = None
    speech_s: float | None = None
    aggregate: str | None = None
    warning: str | None = None
    segments: list[Segment] | None = None
    decision_score: float | None = None
    score_kind: str | None = None
    threshold: float | None = None
    operating_point: str | None = None

    def to_dict(self, segments: bool = True) -> dict[str, Any]:
        """A JSON-ready dict without the fields that are not set (``segments=False``: no windows)."""
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if not segments:
            out.pop("segments", None)
        elif "segments" in out:
            out["segments"] = [
                {k: v for k, v in seg.items() if v is not None} for seg in out["segments"]
            ]
        return out
