"""``SpoofDetector``: countermeasure scores for files and arrays.

The raw score is ``logit[1] - logit[0]`` (higher = bona fide). With a calibration (an
:class:`voxguard.scoring.calibration.AffineCalibrator` JSON) the score is mapped to a
log-likelihood ratio and a decision is made: ``bonafide`` when the calibrated LLR is at least
``threshold`` (default 0.0: equal priors and costs, i.e. posterior 0.5), else ``spoof``.
Without calibration a decision is only made when a threshold is given explicitly (on raw scores).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxguard.api._load import (
    Loaded,
    crop_length,
    load_model,
    make_backend,
    sample_rate_of,
)
from voxguard.audio.crop import AASIST_CROP
from voxguard.audio.io import prepare_waveform
from voxguard.errors import AudioError, WeightsError
from voxguard.inference.runner import Backend, FileOutput, Runner, WindowPolicy


@dataclass
class Detection:
    """The CM result for one input.

    Attributes:
        file: the file path or array label.
        score: raw CM score ``logit[1] - logit[0]`` (higher = bona fide); ``nan`` on error.
        calibrated: the calibrated LLR, when a calibration is set.
        decision: ``bonafide`` / ``spoof`` when a calibration or threshold is set;
            ``no_speech`` (whatever the score) when less than ``min_speech`` of the scored
            audio is active (see :mod:`voxguard.audio.activity`): never a bona fide verdict on
            silence.
        speech_fraction: fraction of active 25 ms frames in what the model scored.
        n_windows: number of crops the score averages (1 for a single crop).
        duration_s: input duration in seconds.
        error: the error message when the input could not be scored.
    """

    file: str
    score: float
    calibrated: float | None = None
    decision: str | None = None
    n_windows: int = 0
    duration_s: float = 0.0
    error: str | None = None
    speech_fraction: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict without the fields that are not set."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def load_calibration(calibration: Any) -> Any:
    """An AffineCalibrator from a JSON path, or a ready object with ``transform``."""
    if calibration is None or hasattr(calibration, "transform"):
        return calibration
    try:
        from voxguard.scoring.calibration import AffineCalibrator
    except ImportError as exc:  # pragma: no cover - scoring module absent
        raise WeightsError(f"calibration needs voxguard.scoring.calibration ({exc})") from None
    return AffineCalibrator.load(calibration)


class _Scorer:
    """Shared plumbing of detectors and verifiers: model, backend, runner, calibration."""

    task = "cm"
    #: What an uncalibrated score is, and the threshold a system uses on it when it must decide.
    raw_score_kind = "logit difference"
    uncalibrated_threshold = 0.0  # logit[1] - logit[0] >= 0: softmax posterior >= 0.5

    def __init__(
        self,
        loaded: Loaded,
        backend: Backend,
        policy: WindowPolicy,
        batch_size: int = 16,
        calibration: Any = None,
        threshold: float | None = None,
    ) -> None:
        self.name = loaded.name
        self.card = loaded.card
        self.weights_path = loaded.weights_path
        self.model = loaded.model
        self.sample_rate = sample_rate_of(loaded)
        self.runner = Runner(backend, policy, batch_size, self.sample_rate)
        if calibration is None:  # a weights directory may bundle its calibration.json
            calibration = loaded.card.get("calibration_file")
        self.calibration = load_calibration(calibration)
        self.threshold = 0.0 if threshold is None and self.calibration is not None else threshold

    @property
    def score_kind(self) -> str:
        """``llr`` when calibrated, else what the raw score is."""
        return "llr" if self.calibration is not None else self.raw_score_kind

    @property
    def decision_threshold(self) -> float:
        """The threshold a system (SASV, the demo, the server) decides with.

        The explicit ``threshold`` when set; else 0.0 on the calibrated LLR; else the model
        kind's documented threshold on the raw score (:attr:`uncalibrated_threshold`).
        """
        if self.threshold is not None:
            return float(self.threshold)
        return 0.0 if self.calibration is not None else float(self.uncalibrated_threshold)

    def calibrate(self, scores: np.ndarray) -> np.ndarray | None:
        """Calibrated LLRs of raw scores, or ``None`` without a calibration."""
        if self.calibration is None:
            return None
        return np.asarray(
            self.calibration.transform(np.asarray(scores, dtype=np.float64)), dtype=np.float64
        )


NO_SPEECH = "no_speech"
#: Minimum fraction of active frames for a bona fide / spoof verdict (0.05 of a 4 s crop = 0.2 s).
MIN_SPEECH = 0.05


class SpoofDetector(_Scorer):
    """Tell bona fide speech from spoofs with a countermeasure model.

    Build it with :meth:`from_pretrained`; score with :meth:`score_array`,
    :meth:`score_file` or :meth:`score_files`. Inputs with less than ``min_speech`` active
    audio get the decision ``no_speech`` (the raw score is still reported, for evaluation).
    """

    min_speech: float = MIN_SPEECH

    @classmethod
    def from_pretrained(
        cls,
        name_or_dir: str | Path | None = None,
        *,
        weights: str | Path | None = None,
        backend: str = "torch",
        calibration: Any = None,
        threshold: float | None = None,
        device: str = "cpu",
        batch_size: int = 16,
        mode: str = "crop",
        hop: int | None = None,
        long_file_s: float | None = 20.0,
        num_threads: int | None = None,
        onnx_path: str | Path | None = None,
        random_init: bool = False,
        **overrides: Any,
    ) -> SpoofDetector:
        """Load a CM model.

        Args:
            name_or_dir: weights directory, bundled weights name, registered model name (with
                ``weights``) or an exported ``.onnx`` file; ``None`` picks the default bundled CM.
            weights: weights directory, ``.safetensors`` or official ``.pth`` for a registered name.
            backend: ``torch`` or ``onnx`` (ONNX Runtime; exports ``model.onnx`` when missing).
            calibration: AffineCalibrator JSON path (or object) mapping scores to LLRs.
            threshold: decision threshold (on LLRs when calibrated, default 0.0).
            device: torch device (torch backend).
            batch_size: crops / windows per forward pass.
            mode: ``crop`` (first crop, tile-repeated: the AASIST eval convention) or ``windows``.
            hop: window hop in samples (default: the crop length).
            long_file_s: inputs longer than this are scored as the mean over windows.
            num_threads: intra-op threads (torch or ONNX Runtime).
            onnx_path: where to find / write the exported ONNX model.
            random_init: allow an untrained registered model (tests and demos).
            overrides: config fields of the model.
        """
        loaded = load_model(name_or_dir, "cm", weights, random_init, **overrides)
        length = crop_length(loaded, AASIST_CROP)
        policy = WindowPolicy(length=length, hop=hop, mode=mode, long_file_s=long_file_s)
        fn = make_backend(loaded, backend, device, num_threads, onnx_path, length)
        return cls(loaded, fn, policy, batch_size, calibration, threshold)

    def _detections(self, labels: Sequence[str], outputs: Sequence[FileOutput]) -> list[Detection]:
        ok = [o for o in outputs if o.ok]
        raw = np.array([o.output[1] - o.output[0] for o in ok], dtype=np.float64)  # type: ignore[index]
        cal = self.calibrate(raw) if ok else None
        results, j = [], 0
        for label, out in zip(labels, outputs, strict=True):
            if not out.ok:
                results.append(
                    Detection(label, float("nan"), duration_s=out.duration_s, error=out.error)
                )
                continue
            det = Detection(
                label,
                float(raw[j]),
                n_windows=out.n_windows,
                duration_s=out.duration_s,
                speech_fraction=round(float(out.active), 4),
            )
            value = det.score
            if cal is not None:
                det.calibrated = value = float(cal[j])
            if out.active < self.min_speech:
                det.decision = NO_SPEECH
            elif self.threshold is not None:
                det.decision = "bonafide" if value >= self.threshold else "spoof"
            results.append(det)
            j += 1
        return results

    def score_arrays(
        self,
        signals: Sequence[np.ndarray],
        sample_rate: int = 16000,
        labels: Sequence[str] | None = None,
    ) -> list[Detection]:
        """Score in-memory signals (each ``(n,)`` or ``(n, channels)``) at ``sample_rate``.

        Raises:
            AudioError: an array is empty, non-finite or badly shaped.
        """
        labels = (
            list(labels) if labels is not None else [f"<array {i}>" for i in range(len(signals))]
        )
        waves = [
            prepare_waveform(s, sample_rate, self.sample_rate, lab)
            for s, lab in zip(signals, labels, strict=True)
        ]
        for wave, lab in zip(waves, labels, strict=True):
            if wave.size == 0:
                raise AudioError(lab, "contains no audio samples", "pass a non-empty signal")
        outs = []
        for lab, w, res in zip(labels, waves, self.runner.run_arrays(waves), strict=True):
            out = FileOutput(lab, None, duration_s=w.size / self.sample_rate)
            out.set(res)
            outs.append(out)
        return self._detections(labels, outs)

    def score_array(
        self, samples: np.ndarray, sample_rate: int = 16000, label: str = "<array>"
    ) -> Detection:
        """Score one in-memory signal."""
        return self.score_arrays([samples], sample_rate, [label])[0]

    def score_file(self, path: str | os.PathLike) -> Detection:
        """Score one file.

        Raises:
            AudioError: the file cannot be decoded or holds no usable audio.
        """
        out = self.runner.run_files([path])[0]
        if out.exception is not None:
            raise out.exception
        return self._detections([str(path)], [out])[0]

    def score_files(
        self, paths: Sequence[str | os.PathLike], progress: Callable[[int], None] | None = None
    ) -> list[Detection]:
        """Score many files in batches; files that fail get ``error`` set, the rest are scored."""
        outputs = self.runner.run_files(paths, progress)
        return self._detections([str(p) for p in paths], outputs)
