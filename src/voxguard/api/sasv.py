"""``SASVSystem``: spoof-aware speaker verification = a CM and an ASV model, fused.

Fusion rules (SPEC §1.5):

- ``cascade`` (default): accept iff the CM says ``bonafide`` and the ASV says ``accept``
  (each with its own :attr:`~voxguard.api.detector._Scorer.decision_threshold`: the explicit
  threshold, else 0.0 on a calibrated LLR, else 0.0 on the CM's raw logit difference and 0.5
  on the ASV cosine); the reported fused score is the smaller of the two decision margins
  (score minus threshold), so ``fused >= 0`` exactly when the trial is accepted.
- ``sum``: the sum of the two calibrated LLRs, accepted when ``>= threshold`` (default 0.0).
  Needs both models calibrated.
- ``product``: the product of the two calibrated posteriors (sigmoid of each LLR), accepted
  when ``>= threshold`` (default 0.25, i.e. both posteriors at 0.5). Needs both calibrated.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from voxguard.api.detector import NO_SPEECH, SpoofDetector, check_threshold
from voxguard.api.verifier import AudioInput, SpeakerVerifier
from voxguard.errors import VoxguardError

FUSIONS = ("cascade", "sum", "product")


@dataclass
class SASVResult:
    """One SASV trial: both component scores, the fused score and the decision."""

    file: str
    cm_score: float
    asv_score: float
    fused: float
    decision: str
    cm_decision: str | None = None
    asv_decision: str | None = None
    fusion: str = "cascade"
    cm_calibrated: float | None = None
    asv_calibrated: float | None = None
    # What each component decided on, the same fields on every surface (CLI, REST, web page):
    # the thresholded score (the LLR when calibrated), its kind, the threshold and where it is from.
    cm_decision_score: float | None = None
    cm_score_kind: str | None = None
    cm_threshold: float | None = None
    cm_operating_point: str | None = None
    asv_decision_score: float | None = None
    asv_score_kind: str | None = None
    asv_threshold: float | None = None
    asv_operating_point: str | None = None

    @property
    def cm_value(self) -> float:
        """The CM score the decision used: the calibrated LLR when there is one."""
        return self.cm_score if self.cm_calibrated is None else self.cm_calibrated

    @property
    def asv_value(self) -> float:
        """The ASV score the decision used: the calibrated LLR when there is one."""
        return self.asv_score if self.asv_calibrated is None else self.asv_calibrated

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict without the fields that are not set."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


class SASVSystem:
    """Accept an utterance as an enrolled speaker only if it is bona fide and the same speaker.

    Args:
        cm: the spoof detector.
        asv: the speaker verifier.
        fusion: ``cascade``, ``sum`` or ``product`` (see the module docstring).
        threshold: the fused-score threshold for ``sum`` / ``product``.
    """

    def __init__(
        self,
        cm: SpoofDetector,
        asv: SpeakerVerifier,
        fusion: str = "cascade",
        threshold: float | None = None,
    ) -> None:
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        if fusion != "cascade" and (cm.calibration is None or asv.calibration is None):
            raise VoxguardError(
                f"fusion={fusion!r} combines calibrated scores; give both the CM and the ASV model a "
                "calibration (AffineCalibrator JSON), or use fusion='cascade' with thresholds"
            )
        check_threshold(threshold, "fused threshold")
        self.cm, self.asv, self.fusion = cm, asv, fusion
        self.cm_threshold = cm.decision_threshold
        self.asv_threshold = asv.decision_threshold
        self.threshold = (
            threshold if threshold is not None else (0.25 if fusion == "product" else 0.0)
        )

    def enroll(self, inputs: list[AudioInput]) -> np.ndarray:
        """Mean speaker embedding of the enrollment inputs."""
        return self.asv.enroll(inputs)

    def verify(
        self, enrollment: np.ndarray, test: str | os.PathLike | np.ndarray, sample_rate: int = 16000
    ) -> SASVResult:
        """Run the CM and the ASV on ``test`` (a file or signal) and fuse them."""
        if isinstance(test, np.ndarray):
            det = self.cm.score_array(test, sample_rate)
            ver = self.asv.verify(enrollment, self._to_model_rate(test, sample_rate))
            label = "<array>"
        else:
            det = self.cm.score_file(test)
            ver = self.asv.verify(enrollment, test)
            label = str(test)
        cm_value = det.calibrated if det.calibrated is not None else det.score
        asv_value = ver.calibrated if ver.calibrated is not None else ver.score
        cm_decision = "bonafide" if cm_value >= self.cm_threshold else "spoof"
        if det.decision == NO_SPEECH:  # nothing to judge: never accepted, whatever the scores
            cm_decision = NO_SPEECH
        asv_decision = "accept" if asv_value >= self.asv_threshold else "reject"
        if self.fusion == "cascade":
            # accepted only when both say so; a NaN score (or margin) never passes a comparison,
            # so it can only reject (Python's min() would let a NaN margin through)
            fused = min(cm_value - self.cm_threshold, asv_value - self.asv_threshold)
            accept = cm_decision == "bonafide" and asv_decision == "accept"
        elif self.fusion == "sum":
            fused = cm_value + asv_value
            accept = fused >= self.threshold
        else:
            fused = _sigmoid(cm_value) * _sigmoid(asv_value)
            accept = fused >= self.threshold
        if cm_decision == NO_SPEECH or not np.isfinite(fused):
            accept = False
        return SASVResult(
            label,
            det.score,
            ver.score,
            float(fused),
            "accept" if accept else "reject",
            cm_decision,
            asv_decision,
            self.fusion,
            det.calibrated,
            ver.calibrated,
            float(cm_value),
            self.cm.score_kind,
            float(self.cm_threshold),
            self.cm.operating_point.describe(),
            float(asv_value),
            self.asv.score_kind,
            float(self.asv_threshold),
            self.asv.operating_point.describe(),
        )

    def _to_model_rate(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        from voxguard.audio.io import prepare_waveform

        return prepare_waveform(samples, sample_rate, self.asv.sample_rate)
