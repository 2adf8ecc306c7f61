"""Batched inference over files and arrays with bounded memory.

A *backend* is any callable ``fn(batch (B, T) float32) -> (B, K) float32`` (a torch model
wrapped by :class:`TorchBackend`, or an ONNX Runtime session wrapped by
:class:`voxguard.inference.onnx_backend.OnnxBackend`). The :class:`Runner` turns signals into
batches following a :class:`WindowPolicy`:

- ``windows``: ``length``-sample sliding windows covering the whole signal (the last one
  aligned to the end, a signal shorter than one window tile-repeated, see
  :func:`voxguard.audio.crop.sliding_windows`);
- ``crop``: the AASIST eval convention, the first ``length`` samples, tile-repeated when shorter;
- ``full``: the whole signal as one input (speaker models take any length).

Every result keeps the output of each window with its span ``[start, end)`` in samples and its
speech fraction (measured by the runner's ``activity`` function), plus their mean; what to make
of the windows (the mean, or the worst window of a countermeasure) is the caller's choice.
Signals longer than ``long_file_s`` are always windowed, streamed from disk block by block and
run ``batch_size`` windows at a time, so a 60-minute file never becomes one batch; shorter ones
are decoded whole and their windows batched together with other files' windows.
Per-file failures are captured in :class:`FileOutput.error` so the rest of a list completes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxguard.audio import io as audio_io
from voxguard.audio.activity import active_fraction
from voxguard.audio.crop import AASIST_CROP, eval_crop, sliding_windows
from voxguard.audio.io import DEFAULT_SAMPLE_RATE, audio_info, load_audio, missing_file_error
from voxguard.errors import AudioError, VoxguardError

Backend = Callable[[np.ndarray], np.ndarray]
#: ``fn(batch (B, T), sample_rate) -> (B,)`` fraction of active (speech) frames per row.
Activity = Callable[[np.ndarray, int], np.ndarray]
MODES = ("crop", "full", "windows")
# Failures caught per input so a batch completes: audio problems, and a model that cannot run
# on one particular input (e.g. too short for its convolutions) without aborting the others.
MODEL_ERRORS = (VoxguardError, RuntimeError, ValueError)


@dataclass(frozen=True)
class WindowPolicy:
    """How a signal becomes model inputs.

    Attributes:
        length: crop / window length in samples.
        hop: window hop in samples (default ``length``: no overlap).
        mode: ``windows``, ``crop`` or ``full`` (see the module docstring).
        long_file_s: signals longer than this are streamed and scored in windows whatever
            ``mode`` says (``None``: never).
    """

    length: int = AASIST_CROP
    hop: int | None = None
    mode: str = "crop"
    long_file_s: float | None = 20.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.length <= 0 or (self.hop is not None and self.hop <= 0):
            raise ValueError("length and hop must be positive sample counts")

    def is_long(self, n_samples: int, sample_rate: int = DEFAULT_SAMPLE_RATE) -> bool:
        """Whether a signal of ``n_samples`` is streamed (longer than ``long_file_s``)."""
        return self.long_file_s is not None and n_samples > self.long_file_s * sample_rate

    def windowed(self, n_samples: int, sample_rate: int = DEFAULT_SAMPLE_RATE) -> bool:
        """Whether a signal of ``n_samples`` is scored in windows."""
        return self.mode == "windows" or self.is_long(n_samples, sample_rate)


@dataclass
class ArrayOutput:
    """The model outputs of one signal.

    Attributes:
        output: mean of the window outputs ``(K,)``.
        n_windows: number of model inputs (1 for a crop or a full signal).
        active: mean speech fraction of the windows.
        windows: each window's output ``(n_windows, K)``.
        spans: each window's ``[start, end)`` in samples of the signal ``(n_windows, 2)``
            (a tile-repeated short signal: ``[0, n)``).
        activity: each window's speech fraction ``(n_windows,)``.
    """

    output: np.ndarray
    n_windows: int
    active: float
    windows: np.ndarray | None = None
    spans: np.ndarray | None = None
    activity: np.ndarray | None = None


@dataclass
class FileOutput:
    """The model outputs for one input (see :class:`ArrayOutput`) or its error."""

    source: str
    output: np.ndarray | None
    n_windows: int = 0
    duration_s: float = 0.0
    error: str | None = None
    active: float = 1.0  # mean speech fraction of the model inputs (Runner.activity)
    exception: Exception | None = field(default=None, repr=False)
    windows: np.ndarray | None = None
    spans: np.ndarray | None = None
    activity: np.ndarray | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def set(self, result: ArrayOutput) -> None:
        """Fill in a successful model output."""
        self.output, self.n_windows, self.active = result.output, result.n_windows, result.active
        self.windows, self.spans, self.activity = result.windows, result.spans, result.activity


Span = tuple[int, int, np.ndarray]  # (start, end, window samples)


def iter_window_spans(
    blocks: Iterable[np.ndarray], length: int, hop: int | None = None
) -> Iterator[Span]:
    """Sliding windows over a signal given as consecutive blocks, in bounded memory.

    Yields ``(start, end, window)`` for exactly the rows of
    ``sliding_windows(np.concatenate(blocks), length, hop)`` (including the end-aligned last
    window and tiling of short signals, whose span is ``[0, n)``) while holding at most about
    one block plus one window of samples.
    """
    hop = hop or length
    buf = np.zeros(0, dtype=np.float32)
    offset = 0  # absolute index of buf[0]
    next_start = 0
    last_end = 0  # end of the last window yielded
    for block in blocks:
        buf = np.concatenate([buf, np.asarray(block, dtype=np.float32)])
        total = offset + buf.size
        while next_start + length <= total:
            window = buf[next_start - offset : next_start - offset + length].copy()
            yield next_start, next_start + length, window
            last_end = next_start + length
            next_start += hop
        keep_from = max(offset, min(next_start, total - length))
        buf = buf[keep_from - offset :]
        offset = keep_from
    total = offset + buf.size
    if total == 0:
        return
    if last_end == 0:  # shorter than one window: tile-repeat it
        yield 0, total, sliding_windows(buf, length, hop)[0]
    elif last_end < total:
        yield total - length, total, buf[buf.size - length :].copy()


def iter_windows(
    blocks: Iterable[np.ndarray], length: int, hop: int | None = None
) -> Iterator[np.ndarray]:
    """The windows of :func:`iter_window_spans` without their spans."""
    return (window for _, _, window in iter_window_spans(blocks, length, hop))


class Runner:
    """Runs a backend over arrays and files with batching and windowing.

    Args:
        backend: ``fn(batch (B, T)) -> (B, K)``.
        policy: how signals become inputs.
        batch_size: inputs (crops or windows) per backend call.
        sample_rate: the model's sample rate; files are resampled to it.
    """

    def __init__(
        self,
        backend: Backend,
        policy: WindowPolicy,
        batch_size: int = 16,
        sample_rate: int = DEFAULT_SAMPLE_RATE,
        activity: Activity | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.backend = backend
        self.policy = policy
        self.batch_size = batch_size
        self.sample_rate = sample_rate
        self.activity: Activity = activity or active_fraction

    # -- arrays ---------------------------------------------------------------------------
    def _inputs(self, samples: np.ndarray) -> list[Span]:
        """The model inputs of a signal that is not streamed, with their spans."""
        if self.policy.windowed(samples.size, self.sample_rate):
            return list(iter_window_spans([samples], self.policy.length, self.policy.hop))
        if self.policy.mode == "crop":
            end = min(samples.size, self.policy.length)
            return [(0, end, eval_crop(samples, self.policy.length))]
        return [(0, samples.size, samples)]

    def _run(self, batch: list[np.ndarray]) -> np.ndarray:
        out = np.asarray(self.backend(np.stack(batch).astype(np.float32, copy=False)))
        if out.ndim != 2 or out.shape[0] != len(batch):
            raise VoxguardError(f"backend returned shape {out.shape} for a batch of {len(batch)}")
        return out

    def _run_spans(self, items: list[Span]) -> tuple[np.ndarray, np.ndarray]:
        """Outputs ``(B, K)`` and speech fractions ``(B,)`` of one batch of windows."""
        batch = [w for _, _, w in items]
        stacked = np.stack(batch)
        out = self._run(batch)
        active = np.asarray(self.activity(stacked, self.sample_rate), dtype=np.float64)
        return out, active.reshape(len(items))

    def _stream(self, spans: Iterable[Span]) -> ArrayOutput:
        """Run windows ``batch_size`` at a time, keeping only their outputs (bounded memory)."""
        outs, acts, where = [], [], []
        chunk: list[Span] = []

        def run_chunk() -> None:
            out, act = self._run_spans(chunk)
            outs.append(out)
            acts.append(act)
            where.extend((s, e) for s, e, _ in chunk)
            chunk.clear()

        for item in spans:
            chunk.append(item)
            if len(chunk) == self.batch_size:
                run_chunk()
        if chunk:
            run_chunk()
        if not outs:
            raise VoxguardError("no windows to score")
        return _summary(np.concatenate(outs), np.array(where), np.concatenate(acts))

    def run_arrays(self, signals: Sequence[np.ndarray]) -> list[ArrayOutput]:
        """Outputs of validated mono signals at the model rate (see :class:`ArrayOutput`).

        Windows and crops of all signals are batched together (``full`` mode batches equal
        lengths); signals longer than ``long_file_s`` run alone, ``batch_size`` windows at a time.
        """
        results: list[ArrayOutput | None] = [None] * len(signals)
        groups: dict[int, list[tuple[int, Span]]] = {}
        for i, sig in enumerate(signals):
            if sig.size == 0:
                raise AudioError(
                    f"<array {i}>", "contains no audio samples", "pass a non-empty signal"
                )
            if self.policy.is_long(sig.size, self.sample_rate):
                results[i] = self._stream(
                    iter_window_spans([sig], self.policy.length, self.policy.hop)
                )
                continue
            for item in self._inputs(sig):
                groups.setdefault(item[2].size, []).append((i, item))
        per_signal: dict[int, list[tuple[int, int, np.ndarray, float]]] = {}
        for group in groups.values():
            for start in range(0, len(group), self.batch_size):
                part = group[start : start + self.batch_size]
                out, act = self._run_spans([item for _, item in part])
                for (i, (s, e, _)), row, a in zip(part, out, act, strict=True):
                    per_signal.setdefault(i, []).append((s, e, row, float(a)))
        for i, rows in per_signal.items():
            results[i] = _summary(
                np.stack([r[2] for r in rows]),
                np.array([(r[0], r[1]) for r in rows]),
                np.array([r[3] for r in rows]),
            )
        return results  # type: ignore[return-value]

    # -- files ----------------------------------------------------------------------------
    def _file_windows(self, path: str | os.PathLike) -> Iterator[Span]:
        stream = getattr(audio_io, "stream_audio", None)
        if stream is not None:
            blocks = stream(path, self.sample_rate)
        else:  # pragma: no cover - older audio module without streaming
            blocks = iter([load_audio(path, self.sample_rate, max_duration_s=None)[0]])
        return iter_window_spans(blocks, self.policy.length, self.policy.hop)

    def run_files(
        self,
        paths: Sequence[str | os.PathLike],
        progress: Callable[[int], None] | None = None,
    ) -> list[FileOutput]:
        """Outputs for every file; a file that fails gets ``error`` set and the rest go on.

        Args:
            paths: audio files.
            progress: called with the number of files just finished (for progress bars).
        """
        results: list[FileOutput] = []
        short: list[tuple[FileOutput, np.ndarray]] = []

        def flush() -> None:
            if not short:
                return
            try:
                outs = self.run_arrays([x for _, x in short])
            except MODEL_ERRORS:  # one input broke the batch: run them one by one
                for res, x in short:
                    try:
                        res.set(self.run_arrays([x])[0])
                    except MODEL_ERRORS as exc:
                        res.exception = _as_voxguard(res.source, exc)
                        res.error = str(res.exception)
            else:
                for (res, _), out in zip(short, outs, strict=True):
                    res.set(out)
            if progress:
                progress(len(short))
            short.clear()

        for path in paths:
            res = FileOutput(source=str(path), output=None)
            results.append(res)
            try:
                _check_readable(path)
                info = audio_info(path)
                res.duration_s = info.frames / info.samplerate
                n_model = int(res.duration_s * self.sample_rate)
                if self.policy.is_long(n_model, self.sample_rate):
                    res.set(self._stream(self._file_windows(path)))
                    if progress:
                        progress(1)
                    continue
                samples, _ = load_audio(path, self.sample_rate)
            except MODEL_ERRORS as exc:
                res.exception = _as_voxguard(str(path), exc)
                res.error = str(res.exception)
                if progress:
                    progress(1)
                continue
            short.append((res, samples))
            if len(short) >= self.batch_size:
                flush()
        flush()
        return results


def _summary(windows: np.ndarray, spans: np.ndarray, activity: np.ndarray) -> ArrayOutput:
    """An :class:`ArrayOutput` from per-window outputs, spans and speech fractions."""
    windows = np.asarray(windows, dtype=np.float32)
    mean = windows.mean(0, dtype=np.float64).astype(np.float32)
    spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    return ArrayOutput(mean, len(windows), float(np.mean(activity)), windows, spans, activity)


def _as_voxguard(source: str, exc: Exception) -> VoxguardError:
    """Audio errors as they are; a model failure on one input as an error naming that input."""
    if isinstance(exc, VoxguardError):
        return exc
    return VoxguardError(f"{source}: the model failed on this input ({type(exc).__name__}: {exc})")


def _check_readable(path: str | os.PathLike) -> None:
    """Fail early on files ``stream_audio`` would only reject after its header check."""
    p = Path(path)
    if not p.is_file():
        raise missing_file_error(p, str(path))
    if p.stat().st_size == 0:
        raise AudioError(str(path), "empty file (0 bytes)", "re-export or re-download it")


class TorchBackend:
    """Wrap a torch model (``forward(wav (B, T)) -> (B, K)``) as a numpy backend.

    Args:
        model: the network, put in eval mode.
        device: torch device to run on.
    """

    def __init__(self, model: object, device: str = "cpu") -> None:
        import torch

        self._torch = torch
        self.model = model.eval().to(device)  # type: ignore[attr-defined]
        self.device = device

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            out = self.model(torch.from_numpy(np.ascontiguousarray(batch)).to(self.device))
        return out.float().cpu().numpy()


class DitheredBackend:
    """A backend whose every input first gets a fixed white-noise floor (a *dither*).

    The same noise sequence (seed ``seed``, unit variance, scaled to an RMS of ``level_dbfs``
    dB relative to full scale) is added to every window, so a score stays a deterministic
    function of the input. A countermeasure trained on studio-clean bona fide and on spoofs
    whose silences are digitally clean can read "how quiet the pauses are" as a cue; a noise
    floor at inference gives every input the same one (the idea of Kaldi's fbank ``dither``, at
    a level that covers a recording's own floor). Only the network sees it: the runner measures
    speech activity on the original samples. A card names it as ``dither_dbfs``.
    """

    def __init__(self, backend: Backend, level_dbfs: float, seed: int = 0) -> None:
        self.backend = backend
        self.level_dbfs = float(level_dbfs)
        self.seed = seed
        self.metadata = getattr(backend, "metadata", None)  # an ONNX export's, read by the loader
        self._noise = np.zeros(0, dtype=np.float32)

    def floor(self, n: int) -> np.ndarray:
        """The first ``n`` samples of the noise floor."""
        if self._noise.size < n:
            rng = np.random.default_rng(self.seed)
            self._noise = (rng.standard_normal(n) * 10.0 ** (self.level_dbfs / 20.0)).astype(
                np.float32
            )
        return self._noise[:n]

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.backend(batch + self.floor(batch.shape[-1]))
