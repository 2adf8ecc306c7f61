"""``SpeakerVerifier``: speaker embeddings, enrollment and cosine verification.

An utterance's embedding is the model output for the whole signal; signals longer than
``long_file_s`` (default 20 s) are embedded as the mean over ``window_s`` windows. Enrollment
of a speaker is the mean of its enrollment embeddings. The verification score is the cosine
similarity of the enrollment and test embeddings (higher = same speaker); with a calibration it
is mapped to an LLR. The decision is ``accept`` when the (calibrated) score is at least the
threshold of the :class:`~voxguard.scoring.operating_point.OperatingPoint` in force, else
``reject``: by default the threshold for a 1 % false-accept rate measured on held-out speakers
(when the bundle's ``calibration.json`` has an ``operating_points`` table), else equal priors
(LLR 0). ``far=`` picks another false-accept rate, ``threshold=`` an explicit threshold.

A voice login fails closed: speech is measured in every enrollment input as the detector
measures it (Silero VAD, the energy gate without ``silero-vad``), and an input with less than
:data:`MIN_ENROLL_SPEECH` speech (silence, noise, a tone) is refused, as is an enrollment
embedding that is not finite or is all zero. (Trials skip the VAD: the countermeasure's
``no_speech`` gate already rejects a trial without speech in :class:`~voxguard.api.SASVSystem`.)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxguard.api._load import load_model, make_backend, sample_rate_of
from voxguard.api.detector import MIN_SPEECH, _Scorer
from voxguard.audio.activity import speech_fraction, vad_name
from voxguard.audio.io import prepare_waveform
from voxguard.errors import AudioError, VoxguardError
from voxguard.inference.runner import Runner, WindowPolicy
from voxguard.scoring.operating_point import (
    DEFAULT_FAR,
    OperatingPoint,
    read_operating_points,
    threshold_for_far,
)

AudioInput = str | os.PathLike | np.ndarray
#: least speech fraction of an enrollment input (the CM's ``no_speech`` gate)
MIN_ENROLL_SPEECH = MIN_SPEECH


class EnrollmentMismatch(VoxguardError):
    """An enrollment made by another speaker model (its size differs): wrong for every trial."""


@dataclass
class Embedding:
    """The speaker embedding of one input, or its error."""

    file: str
    embedding: np.ndarray | None
    n_windows: int = 0
    duration_s: float = 0.0
    error: str | None = None
    #: speech fraction of the input (Silero VAD, else the energy gate)
    speech_fraction: float | None = None


def no_speech_problem(speech: float) -> str | None:
    """Why an input with ``speech`` fraction cannot enroll a speaker, or None if it can."""
    if speech >= MIN_ENROLL_SPEECH:
        return None
    return (
        f"holds no speech to enroll ({100 * speech:.0f} % speech by the {vad_name()} VAD, at "
        f"least {100 * MIN_ENROLL_SPEECH:.0f} % needed); enroll with recordings of the speaker "
        "talking, a few seconds each"
    )


@dataclass
class Verification:
    """A verification trial: cosine score, calibrated LLR, decision and the threshold used."""

    file: str
    score: float
    calibrated: float | None = None
    decision: str | None = None
    threshold: float | None = None
    operating_point: str | None = None
    #: the score the decision thresholded (``calibrated`` when set, else ``score``) and its kind
    decision_score: float | None = None
    score_kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict without the fields that are not set."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denom) if denom > 0 else 0.0


class SpeakerVerifier(_Scorer):
    """Embed, enroll and verify speakers with a speaker-embedding model."""

    task = "spk"
    raw_score_kind = "cosine"
    uncalibrated_threshold = 0.5  # cosine; only used when no calibration is available

    @classmethod
    def from_pretrained(
        cls,
        name_or_dir: str | Path | None = None,
        *,
        weights: str | Path | None = None,
        backend: str = "torch",
        calibration: Any = None,
        threshold: float | None = None,
        far: float | None = None,
        device: str = "cpu",
        window_s: float = 6.0,
        long_file_s: float | None = 20.0,
        num_threads: int | None = None,
        onnx_path: str | Path | None = None,
        random_init: bool = False,
        **overrides: Any,
    ) -> SpeakerVerifier:
        """Load a speaker model (arguments as :meth:`SpoofDetector.from_pretrained`).

        Args:
            window_s: window length for inputs longer than ``long_file_s``.
            threshold: accept threshold on the (calibrated) score; overrides ``far``.
            far: target false-accept rate of the decision threshold, read from the calibration's
                ``operating_points`` table (default: the table's default, 1 %). Without such a
                table the threshold is LLR 0 (equal priors) when calibrated; uncalibrated,
                decisions are only made when a threshold is given.

        Raises:
            VoxguardError: both ``far`` and ``threshold`` given, or a ``far`` the model's
                calibration cannot provide.
        """
        if far is not None and threshold is not None:
            raise VoxguardError("give a target false-accept rate or a threshold, not both")
        if far is not None and not 0.0 < far < 1.0:
            raise VoxguardError(f"far must be a rate in (0, 1), e.g. 0.01 for 1 %; got {far}")
        loaded = load_model(name_or_dir, "spk", weights, random_init, **overrides)
        length = int(window_s * sample_rate_of(loaded))
        policy = WindowPolicy(length=length, mode="full", long_file_s=long_file_s)
        fn = make_backend(loaded, backend, device, num_threads, onnx_path, length)
        verifier = cls(loaded, fn, policy, 1, calibration, threshold)
        source = calibration if isinstance(calibration, str | os.PathLike) else None
        verifier._set_operating_point(far, threshold, source or loaded.card.get("calibration_file"))
        return verifier

    @property
    def operating_point(self) -> OperatingPoint:
        """The operating point in force (follows a later change of :attr:`threshold`)."""
        op = getattr(self, "_operating_point", None)
        if op is not None and self.threshold is not None and op.threshold == self.threshold:
            return op
        if self.threshold is None:
            return OperatingPoint(float(self.uncalibrated_threshold), "uncalibrated", "cosine")
        score = "llr" if self.calibration is not None else "cosine"
        return OperatingPoint(float(self.threshold), "threshold", score)

    @operating_point.setter
    def operating_point(self, op: OperatingPoint) -> None:
        self._operating_point = op

    def _set_operating_point(
        self, far: float | None, threshold: float | None, calibration_file: Any
    ) -> None:
        scale = getattr(self.calibration, "scale", None)
        offset = getattr(self.calibration, "offset", 0.0)

        def raw(thr: float) -> float | None:
            return (thr - offset) / scale if self.calibration is not None and scale else None

        if self.calibration is None:
            if far is not None:
                raise VoxguardError(
                    f"{self.name} has no calibration, so no false-accept table: pass "
                    "calibration= (a calibration JSON) or an explicit threshold"
                )
            thr = self.threshold if self.threshold is not None else self.uncalibrated_threshold
            kind = "threshold" if self.threshold is not None else "uncalibrated"
            self.operating_point = OperatingPoint(float(thr), kind, "cosine")
            return
        if threshold is not None:
            self.operating_point = OperatingPoint(
                float(threshold), "threshold", "llr", raw_threshold=raw(threshold)
            )
            return
        section = read_operating_points(calibration_file)
        if section is None:
            if far is not None:
                raise VoxguardError(
                    f"the calibration of {self.name} has no false-accept table "
                    "(operating_points); give an explicit threshold instead"
                )
            self.operating_point = OperatingPoint(
                0.0, "equal-priors", "llr", raw_threshold=raw(0.0)
            )
            self.threshold = 0.0
            return
        target = float(far if far is not None else section.get("default_far", DEFAULT_FAR))
        thr, miss = threshold_for_far(section["table"], target)
        self.threshold = thr
        self.operating_point = OperatingPoint(thr, "far", "llr", target, miss, raw(thr))

    def embed_array(
        self, samples: np.ndarray, sample_rate: int = 16000, label: str = "<array>"
    ) -> np.ndarray:
        """The embedding ``(E,)`` of one in-memory signal."""
        return self._run_array(self.runner, samples, sample_rate, label).output

    def embed_file(self, path: str | os.PathLike) -> np.ndarray:
        """The embedding ``(E,)`` of one file (raises :class:`AudioError` on a bad file)."""
        return self._run_file(self.runner, path).output

    @property
    def vad_runner(self) -> Runner:
        """The runner that also measures speech with the VAD (Silero: about a third of the Tiny
        model's CPU per window), used only where speech must be known: enrollment and
        ``embed_files(vad=True)``; trials use :attr:`runner` and its energy gate."""
        runner = getattr(self, "_vad_runner", None)
        if runner is None:
            base = self.runner
            runner = Runner(base.backend, base.policy, 1, base.sample_rate, speech_fraction)
            self._vad_runner = runner
        return runner

    def _run_array(self, runner: Runner, samples: np.ndarray, sample_rate: int, label: str) -> Any:
        """``runner``'s output (embedding and speech fraction) for one in-memory signal."""
        wave = prepare_waveform(samples, sample_rate, self.sample_rate, label)
        if wave.size == 0:
            raise AudioError(label, "contains no audio samples", "pass a non-empty signal")
        return runner.run_arrays([wave])[0]

    @staticmethod
    def _run_file(runner: Runner, path: str | os.PathLike) -> Any:
        """``runner``'s output for one file; its error raised."""
        out = runner.run_files([path])[0]
        if out.exception is not None:
            raise out.exception
        return out

    def embed_files(
        self,
        paths: Sequence[str | os.PathLike],
        progress: Callable[[int], None] | None = None,
        vad: bool = False,
    ) -> list[Embedding]:
        """Embeddings of many files; failures get ``error`` set and the rest go on. With ``vad``
        each gets its ``speech_fraction`` (Silero VAD; enrollment needs it)."""
        runner = self.vad_runner if vad else self.runner
        return [
            Embedding(
                str(p),
                o.output,
                o.n_windows,
                o.duration_s,
                o.error,
                None if o.error or not vad else o.active,
            )
            for p, o in zip(paths, runner.run_files(paths, progress), strict=True)
        ]

    def _embed(self, item: AudioInput) -> np.ndarray:
        if isinstance(item, np.ndarray):
            return self.embed_array(item, self.sample_rate)
        return self.embed_file(item)

    def enrollment_embedding(
        self, item: AudioInput, sample_rate: int | None = None, label: str | None = None
    ) -> np.ndarray:
        """The embedding of one enrollment input (a file, or a signal at ``sample_rate``, default
        the model rate).

        Raises:
            AudioError: it cannot be embedded, or it holds no speech (a voice login fails
                closed: silence, noise or a tone never becomes a speaker).
        """
        if isinstance(item, np.ndarray):
            label = label or "<array>"
            out = self._run_array(self.vad_runner, item, sample_rate or self.sample_rate, label)
        else:
            label = label or str(item)
            out = self._run_file(self.vad_runner, item)
        problem = no_speech_problem(float(out.active))
        if problem:
            raise AudioError(label, problem)
        return out.output

    def enroll(self, inputs: Sequence[AudioInput]) -> np.ndarray:
        """Mean embedding of a speaker's enrollment files or arrays (at the model rate).

        Raises:
            VoxguardError: no inputs given, or one of them cannot be embedded or holds no speech.
        """
        if len(inputs) == 0:
            raise VoxguardError("enroll needs at least one enrollment file")
        embeddings = [self.enrollment_embedding(item) for item in inputs]
        return check_embedding(
            np.mean(np.stack(embeddings), axis=0).astype(np.float32), "enrollment"
        )

    def score(self, enrollment: np.ndarray, test: AudioInput) -> float:
        """Cosine score of ``test`` (a file, or a signal at the model rate) against an enrollment."""
        embedding = self._embed(test)
        enrollment = check_embedding(np.asarray(enrollment, dtype=np.float32), "the enrollment")
        if np.asarray(enrollment).size != embedding.size:
            raise EnrollmentMismatch(
                f"the enrollment has {np.asarray(enrollment).size} dimensions but {self.name} gives "
                f"{embedding.size}; enroll the speaker again with the same speaker model"
            )
        return cosine(enrollment, embedding)

    def verify(self, enrollment: np.ndarray, test: AudioInput) -> Verification:
        """Score and decide one trial."""
        raw = self.score(enrollment, test)
        label = str(test) if not isinstance(test, np.ndarray) else "<array>"
        result = Verification(label, raw)
        value = raw
        cal = self.calibrate(np.array([raw]))
        if cal is not None:
            result.calibrated = value = float(cal[0])
        result.decision_score, result.score_kind = float(value), self.score_kind
        if self.threshold is not None:
            result.decision = "accept" if value >= self.threshold else "reject"
            result.threshold = float(self.threshold)
            result.operating_point = self.operating_point.describe()
        return result


def save_embedding(
    path: str | os.PathLike, embedding: np.ndarray, meta: dict[str, Any] | None = None
) -> Path:
    """Save an (enrollment) embedding as ``.npy``, or ``.json`` with metadata."""
    path = check_embedding_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        import json

        path.write_text(
            json.dumps({**(meta or {}), "embedding": np.asarray(embedding).tolist()}) + "\n"
        )
    else:
        np.save(path, np.asarray(embedding, dtype=np.float32))
    return path


def check_embedding_path(path: str | os.PathLike) -> Path:
    """``path`` if it names a ``.npy`` or ``.json`` embedding file (``np.save`` would silently
    write ``PATH.npy`` for any other name, which ``verify`` would then not find)."""
    path = Path(path)
    if path.suffix not in (".npy", ".json"):
        raise VoxguardError(
            f"{path}: an enrollment file is .npy or .json; name it e.g. {path.with_suffix('.npy')}"
        )
    return path


def load_embedding(path: str | os.PathLike) -> np.ndarray:
    """Read an embedding written by :func:`save_embedding`."""
    path = Path(path)
    if path.is_dir():
        raise VoxguardError(
            f"{path}: is a folder; pass the enrollment file `voxguard enroll` wrote"
        )
    if not path.is_file():
        raise VoxguardError(f"{path}: embedding file not found (write one with `voxguard enroll`)")
    try:
        if path.suffix == ".json":
            import json

            emb = np.asarray(json.loads(path.read_text())["embedding"], dtype=np.float32)
        else:
            try:
                emb = np.asarray(np.load(path, allow_pickle=False), dtype=np.float32)
            except ValueError:  # numpy's own text suggests unpickling, which must never happen
                raise ValueError("not a NumPy .npy array") from None
    except (ValueError, KeyError, TypeError, OSError, EOFError, UnicodeDecodeError) as exc:
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise VoxguardError(
            f"{path}: not an embedding file ({why.splitlines()[0][:120]}; write one with "
            "`voxguard enroll SPEECH... -o FILE.npy`)"
        ) from None
    return check_embedding(emb, str(path))


def check_embedding(embedding: np.ndarray, label: str) -> np.ndarray:
    """``embedding`` if it is a usable speaker embedding: a non-empty vector, finite, not all zero.

    Raises:
        VoxguardError: otherwise (a NaN or zero enrollment would make every trial's cosine
            meaningless, and a voice login must fail closed).
    """
    emb = np.asarray(embedding)
    if emb.ndim != 1 or emb.size == 0:
        problem = f"has shape {emb.shape}, not a vector"
    elif not np.isfinite(emb).all():
        problem = "has NaN or infinite values"
    elif not np.any(emb):
        problem = "is all zeros"
    else:
        return emb
    raise VoxguardError(
        f"{label}: not a usable speaker embedding ({problem}); enroll the speaker again with "
        "`voxguard enroll`"
    )
