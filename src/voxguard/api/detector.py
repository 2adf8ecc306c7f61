"""``SpoofDetector``: countermeasure scores for files and arrays.

The raw score is ``logit[1] - logit[0]`` (higher = bona fide). With a calibration (an
:class:`voxguard.scoring.calibration.AffineCalibrator` JSON) the score is mapped to a
log-likelihood ratio and a decision is made: ``bonafide`` when the calibrated LLR is at least
``threshold`` (default 0.0: equal priors and costs, i.e. posterior 0.5), else ``spoof``.
Without calibration a decision is only made when a threshold is given explicitly (on raw scores).

**Whole-utterance scoring.** By default (``mode="windows"``) every input is scored over windows
of the model's crop length covering all of it (inputs longer than ``long_file_s`` are streamed
from disk), and the utterance score is the ``aggregate`` of the window scores over the windows
with at least half speech: ``min`` by default, the worst window, so that a genuine part cannot
hide a spoofed one (see :mod:`voxguard.inference.aggregate`; ``mean`` and percentiles ``p<q>``
are the alternatives). Each window's ``(start, end, score, llr, speech)`` is in
:attr:`Detection.segments`. ``mode="crop"`` with ``aggregate="mean"`` is the AASIST eval
convention (the first crop only; what published ASVspoof figures use).

**Speech gate.** Speech is measured in every window with Silero VAD (the energy gate when
``silero-vad`` is not installed; see :mod:`voxguard.audio.activity`). Inputs where less than
``min_speech`` (5 %) of the scored audio is speech get the decision ``no_speech`` (never a
verdict on silence, noise, tones or music); inputs with less than :data:`MIN_RELIABLE_SPEECH_S`
(0.5 s) of speech are scored, with a :attr:`Detection.warning`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voxguard.api._load import (
    Loaded,
    batch_size_of,
    check_exported_task,
    crop_length,
    hop_length,
    load_exported,
    load_model,
    make_backend,
    sample_rate_of,
)
from voxguard.audio.activity import speech_fraction
from voxguard.audio.crop import AASIST_CROP
from voxguard.audio.io import prepare_waveform
from voxguard.errors import AudioError, VoxguardError, WeightsError
from voxguard.inference.aggregate import (
    DEFAULT_AGGREGATE,
    MIN_WINDOW_SPEECH,
    aggregate_scores,
    check_aggregate,
    eligible_windows,
)
from voxguard.inference.results import Detection, Segment
from voxguard.inference.runner import Activity, Backend, FileOutput, Runner, WindowPolicy
from voxguard.scoring.operating_point import OperatingPoint


def load_calibration(calibration: Any) -> Any:
    """An AffineCalibrator from a JSON path, or a ready object with ``transform``."""
    if calibration is None or hasattr(calibration, "transform"):
        return calibration
    try:
        from voxguard.scoring.calibration import AffineCalibrator
    except ImportError as exc:  # pragma: no cover - scoring module absent
        raise WeightsError(f"calibration needs voxguard.scoring.calibration ({exc})") from None
    return AffineCalibrator.load(calibration)


def check_threshold(value: float | None, name: str) -> None:
    """Refuse a decision threshold that is not a finite number (a NaN compares false with every
    score, which would turn a rejection into an acceptance somewhere downstream)."""
    if value is None:
        return
    try:
        finite = bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        finite = False
    if not finite:
        raise VoxguardError(
            f"{name} {value!r}: a decision threshold must be a finite number, e.g. 2.5"
        )


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
        activity: Activity | None = None,
    ) -> None:
        self.name = loaded.name
        self.card = loaded.card
        self.weights_path = loaded.weights_path
        self.model = loaded.model
        self.sample_rate = sample_rate_of(loaded)
        self.runner = Runner(backend, policy, batch_size, self.sample_rate, activity)
        if calibration is None:  # a weights directory may bundle its calibration.json
            calibration = loaded.card.get("calibration_file")
        self.calibration = load_calibration(calibration)
        check_threshold(threshold, "threshold")
        self.threshold = 0.0 if threshold is None and self.calibration is not None else threshold
        self._given_threshold = threshold

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

    @property
    def operating_point(self) -> OperatingPoint:
        """The threshold in force, what it applies to and where it comes from."""
        thr = self.decision_threshold
        if self.threshold is not None and self.threshold == getattr(self, "_given_threshold", None):
            return OperatingPoint(thr, "threshold", self.score_kind)
        if self.calibration is not None and thr == 0.0:
            return OperatingPoint(thr, "equal-priors", self.score_kind)
        kind = "threshold" if self.calibration is not None else "uncalibrated"
        return OperatingPoint(thr, kind, self.score_kind)

    def calibrate(self, scores: np.ndarray) -> np.ndarray | None:
        """Calibrated LLRs of raw scores, or ``None`` without a calibration."""
        if self.calibration is None:
            return None
        return np.asarray(
            self.calibration.transform(np.asarray(scores, dtype=np.float64)), dtype=np.float64
        )


NO_SPEECH = "no_speech"
#: Minimum fraction of speech in the scored audio for a bona fide / spoof verdict.
MIN_SPEECH = 0.05
#: Less speech than this (seconds) still gets a verdict, with a warning that it is unreliable.
MIN_RELIABLE_SPEECH_S = 0.5


class SpoofDetector(_Scorer):
    """Tell bona fide speech from spoofs with a countermeasure model.

    Build it with :meth:`from_pretrained`; score with :meth:`score_array`,
    :meth:`score_file` or :meth:`score_files`. Inputs with less than ``min_speech`` speech
    get the decision ``no_speech`` (the raw score is still reported, for evaluation).
    """

    min_speech: float = MIN_SPEECH
    aggregate: str = DEFAULT_AGGREGATE
    min_window_speech: float = MIN_WINDOW_SPEECH

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
        batch_size: int | None = None,
        mode: str = "windows",
        aggregate: str = DEFAULT_AGGREGATE,
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
            backend: ``torch`` or ``onnx`` (ONNX Runtime; exports ``model.onnx`` when missing;
                a fresh export of a weights directory runs without importing torch).
            calibration: AffineCalibrator JSON path (or object) mapping scores to LLRs.
            threshold: decision threshold (on LLRs when calibrated, default 0.0).
            device: torch device (torch backend).
            batch_size: crops / windows per forward pass (default: the card's ``batch_size``,
                else 16; a model with large activations per window, such as an LCNN on a
                257-bin spectrogram, names a small one to bound the memory of long inputs).
            mode: ``windows`` (windows covering the whole input) or ``crop`` (the first crop,
                tile-repeated: the AASIST eval convention).
            aggregate: utterance score from the window scores: ``min`` (the worst window with
                enough speech), ``mean`` or a percentile ``p<q>`` (e.g. ``p10``).
            hop: window hop in samples (default: the card's ``hop_samples``, else the crop
                length).
            long_file_s: inputs longer than this are streamed from disk in windows.
            num_threads: intra-op threads (torch or ONNX Runtime).
            onnx_path: where to find / write the exported ONNX model.
            random_init: allow an untrained registered model (tests and demos).
            overrides: config fields of the model.
        """
        check_aggregate(aggregate)
        loaded = None
        if backend == "onnx" and not random_init and not overrides:
            loaded = load_exported(name_or_dir, "cm", weights, onnx_path)
        if loaded is None:
            loaded = load_model(name_or_dir, "cm", weights, random_init, **overrides)
        length = crop_length(loaded, AASIST_CROP)
        hop = hop_length(loaded, length) if hop is None else hop
        policy = WindowPolicy(length=length, hop=hop, mode=mode, long_file_s=long_file_s)
        fn = make_backend(loaded, backend, device, num_threads, onnx_path, length)
        if loaded.model is None:
            check_exported_task(loaded, fn, "cm")
        batch_size = batch_size_of(loaded) if batch_size is None else batch_size
        det = cls(loaded, fn, policy, batch_size, calibration, threshold, speech_fraction)
        det.aggregate = aggregate
        return det

    def _detection(self, label: str, out: FileOutput) -> Detection:
        """The utterance result of one successful runner output."""
        windows = np.asarray(out.windows, dtype=np.float64)
        scores = windows[:, 1] - windows[:, 0]
        speech = np.asarray(out.activity, dtype=np.float64)
        spans = np.asarray(out.spans, dtype=np.float64) / self.sample_rate
        used = eligible_windows(speech, self.min_window_speech)
        raw = aggregate_scores(scores, speech, self.aggregate, self.min_window_speech)
        llrs = self.calibrate(np.append(scores, raw))
        lengths = spans[:, 1] - spans[:, 0]
        fraction = float(np.average(speech, weights=lengths)) if lengths.sum() > 0 else 0.0
        det = Detection(
            label,
            raw,
            n_windows=out.n_windows,
            duration_s=out.duration_s,
            speech_fraction=round(fraction, 4),
            speech_s=round(float(fraction * _covered(spans)), 3),
            aggregate=self.aggregate,
        )
        det.segments = [
            Segment(
                round(float(a), 3),
                round(float(b), 3),
                float(sc),
                None if llrs is None else float(llrs[k]),
                round(float(sp), 4),
                bool(u),
            )
            for k, ((a, b), sc, sp, u) in enumerate(zip(spans, scores, speech, used, strict=True))
        ]
        value = raw
        if llrs is not None:
            det.calibrated = value = float(llrs[-1])
        det.decision_score, det.score_kind = float(value), self.score_kind
        if self.threshold is not None:
            det.threshold = float(self.threshold)
            det.operating_point = self.operating_point.describe()
        if fraction < self.min_speech:
            det.decision = NO_SPEECH
        elif self.threshold is not None:
            det.decision = "bonafide" if value >= self.threshold else "spoof"
        if det.decision != NO_SPEECH and (det.speech_s or 0.0) < MIN_RELIABLE_SPEECH_S:
            det.warning = (
                f"only {det.speech_s:.2f} s of speech (under {MIN_RELIABLE_SPEECH_S} s): "
                "the score is unreliable"
            )
        return det

    def _detections(self, labels: Sequence[str], outputs: Sequence[FileOutput]) -> list[Detection]:
        results = []
        for label, out in zip(labels, outputs, strict=True):
            if not out.ok:
                results.append(
                    Detection(label, float("nan"), duration_s=out.duration_s, error=out.error)
                )
            else:
                results.append(self._detection(label, out))
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
        """Score many files in batches; files that fail get ``error`` set, the rest are scored.

        For several processes, see :func:`voxguard.inference.executors.score_files`.
        """
        outputs = self.runner.run_files(paths, progress)
        return self._detections([str(p) for p in paths], outputs)


def _covered(spans: np.ndarray) -> float:
    """Seconds of input the windows cover (overlaps counted once)."""
    total, end = 0.0, -np.inf
    for a, b in sorted(map(tuple, spans)):
        total += max(0.0, b - max(a, end))
        end = max(end, b)
    return total
