"""Batched inference over files and arrays with bounded memory.

A *backend* is any callable ``fn(batch (B, T) float32) -> (B, K) float32`` (a torch model
wrapped by :class:`TorchBackend`, or an ONNX Runtime session wrapped by
:class:`voxguard.inference.onnx_backend.OnnxBackend`). The :class:`Runner` turns signals into
batches following a :class:`WindowPolicy`:

- ``crop``: the AASIST eval convention, the first ``length`` samples, tile-repeated when shorter;
- ``full``: the whole signal as one input (speaker models take any length);
- ``windows``: ``length``-sample sliding windows (the last one aligned to the end, see
  :func:`voxguard.audio.crop.sliding_windows`); the result is the **mean of the window outputs**.

Signals longer than ``long_file_s`` are always scored in windows, streamed from disk block by
block and run ``batch_size`` windows at a time, so a 60-minute file never becomes one batch.
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
from voxguard.audio.io import DEFAULT_SAMPLE_RATE, audio_info, load_audio
from voxguard.errors import AudioError, VoxguardError

Backend = Callable[[np.ndarray], np.ndarray]
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
        mode: ``crop``, ``full`` or ``windows`` (see the module docstring).
        long_file_s: signals longer than this are scored as the mean over sliding windows
            whatever ``mode`` says (``None``: never).
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

    def windowed(self, n_samples: int, sample_rate: int = DEFAULT_SAMPLE_RATE) -> bool:
        """Whether a signal of ``n_samples`` is scored as a mean over windows."""
        if self.mode == "windows":
            return True
        return self.long_file_s is not None and n_samples > self.long_file_s * sample_rate


@dataclass
class ArrayOutput:
    """The model output of one signal (mean over windows when windowed)."""

    output: np.ndarray
    n_windows: int
    active: float


@dataclass
class FileOutput:
    """The model output for one input (mean over windows when windowed) or its error."""

    source: str
    output: np.ndarray | None
    n_windows: int = 0
    duration_s: float = 0.0
    error: str | None = None
    active: float = 1.0  # fraction of active 25 ms frames in the model inputs (audio.activity)
    exception: Exception | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def set(self, result: ArrayOutput) -> None:
        """Fill in a successful model output."""
        self.output, self.n_windows, self.active = result.output, result.n_windows, result.active


def iter_windows(
    blocks: Iterable[np.ndarray], length: int, hop: int | None = None
) -> Iterator[np.ndarray]:
    """Sliding windows over a signal given as consecutive blocks, in bounded memory.

    Yields exactly the rows of ``sliding_windows(np.concatenate(blocks), length, hop)``
    (including the end-aligned last window and tiling of short signals) while holding at most
    about one block plus one window of samples.
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
            yield buf[next_start - offset : next_start - offset + length].copy()
            last_end = next_start + length
            next_start += hop
        keep_from = max(offset, min(next_start, total - length))
        buf = buf[keep_from - offset :]
        offset = keep_from
    total = offset + buf.size
    if total == 0:
        return
    if last_end == 0:  # shorter than one window: tile-repeat it
        yield sliding_windows(buf, length, hop)[0]
    elif last_end < total:
        yield buf[buf.size - length :].copy()


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
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.backend = backend
        self.policy = policy
        self.batch_size = batch_size
        self.sample_rate = sample_rate

    # -- arrays ---------------------------------------------------------------------------
    def _single(self, samples: np.ndarray) -> np.ndarray:
        """The one model input of a non-windowed signal."""
        if self.policy.mode == "crop":
            return eval_crop(samples, self.policy.length)
        return samples

    def _run(self, batch: list[np.ndarray]) -> np.ndarray:
        out = np.asarray(self.backend(np.stack(batch).astype(np.float32, copy=False)))
        if out.ndim != 2 or out.shape[0] != len(batch):
            raise VoxguardError(f"backend returned shape {out.shape} for a batch of {len(batch)}")
        return out

    def _mean_over(self, windows: Iterable[np.ndarray]) -> ArrayOutput:
        total: np.ndarray | None = None
        count = 0
        active = 0.0
        chunk: list[np.ndarray] = []
        for window in windows:
            chunk.append(window)
            if len(chunk) == self.batch_size:
                out = self._run(chunk).sum(0, dtype=np.float64)
                total = out if total is None else total + out
                active += float(active_fraction(np.stack(chunk), self.sample_rate).sum())
                count += len(chunk)
                chunk = []
        if chunk:
            out = self._run(chunk).sum(0, dtype=np.float64)
            total = out if total is None else total + out
            active += float(active_fraction(np.stack(chunk), self.sample_rate).sum())
            count += len(chunk)
        if total is None:
            raise VoxguardError("no windows to score")
        return ArrayOutput((total / count).astype(np.float32), count, active / count)

    def run_arrays(self, signals: Sequence[np.ndarray]) -> list[ArrayOutput]:
        """Outputs (``output (K,)``, ``n_windows``, ``active``) for validated mono signals at
        the model rate.

        Short signals are batched together (crop mode; ``full`` mode batches equal lengths);
        windowed signals run in chunks of ``batch_size`` windows.
        """
        results: list[ArrayOutput | None] = [None] * len(signals)
        pending: list[tuple[int, np.ndarray]] = []
        for i, sig in enumerate(signals):
            if sig.size == 0:
                raise AudioError(
                    f"<array {i}>", "contains no audio samples", "pass a non-empty signal"
                )
            if self.policy.windowed(sig.size, self.sample_rate):
                results[i] = self._mean_over(
                    iter_windows([sig], self.policy.length, self.policy.hop)
                )
            else:
                pending.append((i, self._single(sig)))
        groups: dict[int, list[tuple[int, np.ndarray]]] = {}
        for i, x in pending:
            groups.setdefault(x.size, []).append((i, x))
        for group in groups.values():
            for start in range(0, len(group), self.batch_size):
                part = group[start : start + self.batch_size]
                out = self._run([x for _, x in part])
                active = active_fraction(np.stack([x for _, x in part]), self.sample_rate)
                for (i, _), row, act in zip(part, out, active, strict=True):
                    results[i] = ArrayOutput(row, 1, float(act))
        return results  # type: ignore[return-value]

    # -- files ----------------------------------------------------------------------------
    def _file_windows(self, path: str | os.PathLike) -> Iterator[np.ndarray]:
        stream = getattr(audio_io, "stream_audio", None)
        if stream is not None:
            blocks = stream(path, self.sample_rate)
        else:  # pragma: no cover - older audio module without streaming
            blocks = iter([load_audio(path, self.sample_rate, max_duration_s=None)[0]])
        return iter_windows(blocks, self.policy.length, self.policy.hop)

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
                if self.policy.windowed(n_model, self.sample_rate):
                    res.set(self._mean_over(self._file_windows(path)))
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


def _as_voxguard(source: str, exc: Exception) -> VoxguardError:
    """Audio errors as they are; a model failure on one input as an error naming that input."""
    if isinstance(exc, VoxguardError):
        return exc
    return VoxguardError(f"{source}: the model failed on this input ({type(exc).__name__}: {exc})")


def _check_readable(path: str | os.PathLike) -> None:
    """Fail early on files ``stream_audio`` would only reject after its header check."""
    p = Path(path)
    if not p.is_file():
        raise AudioError(str(path), "file not found", "check the path")
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
