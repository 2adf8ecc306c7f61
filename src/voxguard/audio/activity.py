"""Speech activity: how much of what a countermeasure scores is speech.

A countermeasure is trained on speech; on silence, noise, tones or music its score means nothing
(the official AASIST weights give digital silence a *confident* bona fide score, +4.45). The API
therefore measures the speech in every scored window and answers ``no_speech`` instead of a
verdict when there is too little (see :class:`voxguard.api.SpoofDetector`).

The measure is **Silero VAD** (MIT): its batched "sequence" ONNX model, shipped inside the
``silero-vad`` wheel, run here with onnxruntime on one thread (one call per window; the
``silero_vad`` package itself is not imported, since it imports torch). A 32 ms frame counts as
speech with Silero's hysteresis: speech starts at a probability of 0.5 and lasts while it stays
at or above 0.35 (:func:`speech_frames`). Without ``silero-vad`` or
``onnxruntime`` installed (``pip install 'voxguard[onnx]'`` brings both), or at a sample rate
other than 16 kHz, the fallback is an **energy gate** (25 ms frames above -50 dBFS): it refuses
silence only, and calls noise, tones and music active. :func:`vad_name` says which is in use.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

FRAME_S = 0.025
ACTIVE_DBFS = -50.0  # energy fallback: frame RMS level (dB re full scale) counted as active

VAD_RATE = 16000
VAD_FRAME = 512  # 32 ms at 16 kHz
VAD_CONTEXT = 64  # samples of the previous frame the model sees with each frame
VAD_THRESHOLD = 0.5  # Silero's default speech probability threshold ...
VAD_NEG_THRESHOLD = 0.35  # ... and the lower one that ends speech (threshold - 0.15)
SILERO_MODEL = "silero_vad_16k_sequence.onnx"
SILENT_PEAK = 10 ** (-70 / 20)  # a window whose peak is below -70 dBFS holds no speech
NORMALISED_PEAK = 0.5  # windows are peak-normalised to -6 dBFS before the VAD


def active_fraction(
    samples: np.ndarray, sample_rate: int = 16000, threshold_dbfs: float = ACTIVE_DBFS
) -> np.ndarray:
    """Fraction of 25 ms frames whose RMS is above ``threshold_dbfs``, per row (energy gate).

    Args:
        samples: ``(n,)`` or ``(batch, n)`` float signal in [-1, 1].
        sample_rate: sampling rate in Hz.
        threshold_dbfs: RMS level a frame must exceed to count as active.

    Returns:
        ``(batch,)`` float64 in [0, 1] (a scalar array for 1-D input).
    """
    x = np.atleast_2d(np.asarray(samples, dtype=np.float64))
    frame = max(1, int(FRAME_S * sample_rate))
    n_frames = max(1, x.shape[1] // frame)
    usable = x[:, : n_frames * frame] if x.shape[1] >= frame else x
    frames = usable.reshape(x.shape[0], n_frames, -1)
    rms = np.sqrt(np.mean(frames**2, axis=-1))
    level = 20 * np.log10(np.maximum(rms, 1e-12))
    frac = (level > threshold_dbfs).mean(axis=-1)
    return frac if np.ndim(samples) > 1 else frac[0]


def silero_model_path() -> Path | None:
    """The Silero VAD sequence ONNX model inside the installed ``silero-vad`` wheel, if any."""
    try:
        spec = importlib.util.find_spec("silero_vad")  # locates the package without running it
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / SILERO_MODEL
        if path.is_file():
            return path
    return None


class SileroVAD:
    """Per-frame speech probabilities of Silero VAD's sequence ONNX model (16 kHz, 32 ms frames).

    Args:
        path: the ``silero_vad_16k_sequence.onnx`` file.
    """

    def __init__(self, path: str | Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def probabilities(self, samples: np.ndarray) -> np.ndarray:
        """Speech probability of each 32 ms frame of a 16 kHz signal (the last one zero-padded).

        The signal is peak-normalised first (Silero misses quiet speech: 14 of 300 FSDD digits
        recorded at -23 dBFS peak, 2 once normalised); below :data:`SILENT_PEAK` it is silence.
        """
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        peak = float(np.abs(x).max()) if x.size else 0.0
        n = max(1, -(-x.size // VAD_FRAME))
        if peak < SILENT_PEAK:
            return np.zeros(n, dtype=np.float32)
        x = x * (NORMALISED_PEAK / peak)
        frames = np.zeros((n, VAD_FRAME), dtype=np.float32)
        frames.reshape(-1)[: x.size] = x
        context = np.zeros((n, VAD_CONTEXT), dtype=np.float32)
        context[1:] = frames[:-1, -VAD_CONTEXT:]
        state = np.zeros((1, 1, 128), dtype=np.float32)
        (probs,) = self.session.run(
            ["speech_probs"],
            {"input": np.concatenate([context, frames], axis=1), "h": state, "c": state},
        )
        return np.asarray(probs, dtype=np.float32).reshape(-1)[:n]


@functools.cache
def _silero() -> SileroVAD | None:
    path = silero_model_path()
    if path is None or importlib.util.find_spec("onnxruntime") is None:
        return None
    try:
        return SileroVAD(path)
    except Exception:  # an unreadable model or an incompatible onnxruntime: energy fallback
        return None


def vad_name(sample_rate: int = VAD_RATE) -> str:
    """``silero`` when Silero VAD measures speech at ``sample_rate``, else ``energy``."""
    return "silero" if sample_rate == VAD_RATE and _silero() is not None else "energy"


def speech_fraction(samples: np.ndarray, sample_rate: int = 16000) -> np.ndarray:
    """Fraction of frames that are speech, per row of ``(n,)`` or ``(batch, n)`` samples.

    Silero VAD when available at this rate (32 ms frames, :func:`speech_frames`), else the
    energy gate :func:`active_fraction` (see the module docstring).
    """
    vad = _silero() if sample_rate == VAD_RATE else None
    if vad is None:
        return active_fraction(samples, sample_rate)
    rows = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    frac = np.array([float(speech_frames(vad.probabilities(r)).mean()) for r in rows])
    return frac if np.ndim(samples) > 1 else frac[0]


def speech_frames(probs: np.ndarray) -> np.ndarray:
    """Speech flags of frames with Silero's hysteresis: speech starts at a probability of at
    least :data:`VAD_THRESHOLD` and lasts while it stays at or above :data:`VAD_NEG_THRESHOLD`."""
    flags = np.zeros(len(probs), dtype=bool)
    on = False
    for i, p in enumerate(np.asarray(probs, dtype=np.float64)):
        on = p >= VAD_THRESHOLD or (on and p >= VAD_NEG_THRESHOLD)
        flags[i] = on
    return flags


def speech_only(
    samples: np.ndarray,
    max_pause_s: float = 0.3,
    pad_s: float = 0.1,
    min_speech_s: float = 1.0,
) -> np.ndarray:
    """A 16 kHz signal with its long non-speech stretches cut out (Silero VAD, :func:`speech_frames`).

    Every non-speech stretch longer than ``max_pause_s`` keeps only ``pad_s`` of it next to the
    speech on each side (leading and trailing silence keep ``pad_s`` next to the speech); shorter
    pauses inside speech stay whole. The signal is returned as it is when Silero VAD is not
    installed or it finds less than ``min_speech_s`` of speech (nothing reliable to keep).
    """
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    vad = _silero()
    if vad is None or x.size == 0:
        return x
    flags = speech_frames(vad.probabilities(x))
    if flags.sum() * VAD_FRAME < min_speech_s * VAD_RATE:
        return x
    pad = int(round(pad_s * VAD_RATE / VAD_FRAME))
    max_pause = int(round(max_pause_s * VAD_RATE / VAD_FRAME))
    keep = flags.copy()
    edges = np.flatnonzero(np.diff(np.r_[0, (~flags).astype(np.int8), 0]))
    for start, end in zip(edges[::2], edges[1::2], strict=True):  # non-speech runs [start, end)
        inside = start > 0 and end < len(flags)
        if inside and end - start <= max_pause:
            keep[start:end] = True
            continue
        if start > 0:  # speech before the run: keep its first frames
            keep[start : min(end, start + pad)] = True
        if end < len(flags):  # speech after the run: keep its last frames
            keep[max(start, end - pad) : end] = True
    per_sample = np.repeat(keep, VAD_FRAME)[: x.size]
    return x[per_sample]


def describe() -> dict[str, Any]:
    """What measures speech here (for result metadata and benchmarks)."""
    path = silero_model_path()
    return {"vad": vad_name(), "model": path.name if path and vad_name() == "silero" else None}
