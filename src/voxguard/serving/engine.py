"""The seam between the REST service and the models.

The service only needs an object with ``detect``, ``embed``, ``verify`` and ``info`` (the
:class:`Engine` protocol). :class:`ModelEngine` implements it with the Python API
(:class:`voxguard.api.SpoofDetector`, :class:`~voxguard.api.SpeakerVerifier` and their
:class:`~voxguard.api.SASVSystem` cascade), so the service scores exactly as the CLI and the
API do (AASIST evaluation crop for CM models, whole-utterance speaker embeddings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from voxguard.api import SASVSystem, SpeakerVerifier, SpoofDetector
from voxguard.models import get_entry
from voxguard.models._hub import PRETRAINED_DIR


@runtime_checkable
class Engine(Protocol):
    """What the service calls. Scores: higher = bona fide / same speaker."""

    sample_rate: int

    def detect(self, samples: np.ndarray, sample_rate: int) -> dict[str, Any]:
        """``score`` (raw), ``llr`` (calibrated or ``None``) and ``decision`` of one utterance."""

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """A 1-D float32 speaker embedding of one enrollment utterance (``AudioError`` when it
        holds no speech: enrollment fails closed)."""

    def verify(
        self, enrolled_embedding: np.ndarray, samples: np.ndarray, sample_rate: int
    ) -> dict[str, Any]:
        """Raw ``cm_score`` / ``asv_score``, their ``*_llr``, both decisions and ``accepted``."""

    def info(self) -> dict[str, Any]:
        """Model names, weights, sample rate and thresholds (for ``GET /info``)."""


def _untrained_ok(spec: str | None, weights: str | None, allow: bool) -> bool:
    """Random init is allowed for debug models, or when the operator asks for it."""
    if (
        spec is None
        or weights is not None
        or Path(spec).is_dir()
        or (PRETRAINED_DIR / spec).is_dir()
    ):
        return False
    return allow or "debug" in get_entry(spec).tags


class ModelEngine:
    """A CM and a speaker model behind the :class:`Engine` protocol (via ``voxguard.api``).

    Args:
        cm_model: weights directory, bundled weights name or registered CM model name
            (``None``: the bundled default).
        spk_model: the same for the speaker-embedding model.
        cm_threshold: bona fide when the CM's decision score (its calibrated LLR when it has a
            calibration, else logit[1] - logit[0]) is at or above it; ``None``: the model's
            :attr:`~voxguard.api.SpoofDetector.decision_threshold` (0).
        asv_threshold: the same for the speaker model (``None``: 0 on the LLR, or 0.5 on the
            cosine of an uncalibrated model).
        seed: initialisation seed of untrained models (debug models, or ``random_init``).
        cm_weights: weights for a registered ``cm_model`` (directory, .safetensors, .pth).
        spk_weights: weights for a registered ``spk_model``.
        random_init: allow untrained non-debug models (demos only: scores are meaningless).
    """

    def __init__(
        self,
        cm_model: str | None = None,
        spk_model: str | None = None,
        cm_threshold: float | None = None,
        asv_threshold: float | None = None,
        seed: int = 0,
        cm_weights: str | None = None,
        spk_weights: str | None = None,
        random_init: bool = False,
    ) -> None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.cm = SpoofDetector.from_pretrained(
                cm_model,
                weights=cm_weights,
                threshold=cm_threshold,
                random_init=_untrained_ok(cm_model, cm_weights, random_init),
            )
            torch.manual_seed(seed + 1)
            self.spk = SpeakerVerifier.from_pretrained(
                spk_model,
                weights=spk_weights,
                threshold=asv_threshold,
                random_init=_untrained_ok(spk_model, spk_weights, random_init),
            )
        # Always decide: fix each threshold (explicit, 0 on an LLR, or the raw-score default).
        self.cm.threshold = self.cm_threshold = self.cm.decision_threshold
        self.spk.threshold = self.asv_threshold = self.spk.decision_threshold
        self.system = SASVSystem(self.cm, self.spk, fusion="cascade")
        self.sample_rate = int(self.cm.sample_rate)
        probe = np.zeros(self.spk.sample_rate // 2, dtype=np.float32)
        self.embedding_dim = int(self.spk.embed_array(probe, self.spk.sample_rate).shape[0])

    def detect(self, samples: np.ndarray, sample_rate: int) -> dict[str, Any]:
        """CM score (logit[1] - logit[0]) and decision."""
        det = self.cm.score_array(samples, sample_rate, label="upload")
        return {
            "score": det.score,
            "llr": det.calibrated,
            "decision": det.decision,
            "decision_score": det.decision_score,
            "score_kind": det.score_kind,
            "operating_point": det.operating_point,
            "segments": det.to_dict().get("segments", []),
        }

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """Speaker embedding of an enrollment upload, float32 of shape ``(E,)``; refused
        (``AudioError`` -> 422) when the upload holds no speech."""
        return np.asarray(
            self.spk.enrollment_embedding(samples, sample_rate, label="upload"), dtype=np.float32
        )

    def verify(
        self, enrolled_embedding: np.ndarray, samples: np.ndarray, sample_rate: int
    ) -> dict[str, Any]:
        """Cascade fusion: accept only when the CM says bona fide and the ASV score passes."""
        r = self.system.verify(
            np.asarray(enrolled_embedding, dtype=np.float32), samples, sample_rate
        )
        return {
            "cm_score": r.cm_score,
            "cm_llr": r.cm_calibrated,
            "cm_decision": r.cm_decision,
            "asv_score": r.asv_score,
            "asv_llr": r.asv_calibrated,
            "asv_decision": r.asv_decision,  # accept / reject, the words of the CLI and API
            "decision": r.decision,
            "accepted": r.decision == "accept",
            "cm_decision_score": r.cm_decision_score,
            "cm_score_kind": r.cm_score_kind,
            "cm_operating_point": r.cm_operating_point,
            "asv_decision_score": r.asv_decision_score,
            "asv_score_kind": r.asv_score_kind,
        }

    def info(self) -> dict[str, Any]:
        """Model names, weights, sample rate, embedding size and thresholds."""
        return {
            "cm_model": self.cm.name,
            "cm_weights": str(self.cm.card.get("weights", "bundled")),
            "spk_model": self.spk.name,
            "spk_weights": str(self.spk.card.get("weights", "bundled")),
            "sample_rate": self.sample_rate,
            "embedding_dim": self.embedding_dim,
            "cm_threshold": self.cm_threshold,
            "cm_threshold_on": self.cm.score_kind,
            "cm_operating_point": self.cm.operating_point.describe(),
            "asv_threshold": self.asv_threshold,
            "asv_threshold_on": self.spk.score_kind,
            "asv_operating_point": self.spk.operating_point.describe(),
            "asv_far_target": self.spk.operating_point.far_target,
            "fusion": "accept = (CM score >= cm_threshold) and (ASV score >= asv_threshold), "
            "each score being its LLR when calibrated (*_threshold_on = 'llr'), else the raw score",
        }
