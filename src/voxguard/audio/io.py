"""The one place voxguard decodes audio.

``load_audio`` turns any soundfile-readable file (wav, flac, ogg/vorbis, ogg/opus, mp3) or
in-memory bytes into mono float32 in [-1, 1] at the requested rate. Every failure is an
:class:`~voxguard.errors.AudioError` that names the file and says how to fix it.

Decompression bombs: a few hundred KB of FLAC or Vorbis can declare hours of 8-channel audio at
absurd rates. Before decoding, the header's rate and channel count are checked against
:class:`DecodeLimits` and ``frames x channels x 4 bytes`` against its byte budget
(:class:`AudioLimitError`); the samples are then decoded in blocks and mixed down to mono as
they arrive, so no multi-channel buffer of the whole file is ever allocated.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from voxguard.audio.resample import resample
from voxguard.errors import AudioError

AudioSource = str | PathLike | bytes | BinaryIO

DEFAULT_SAMPLE_RATE = 16000
MAX_DURATION_S = 3 * 3600.0  # refuse absurd inputs before decoding them into memory
_BLOCK_FRAMES = 1 << 16
_STREAM_BLOCK_BYTES = 64 << 20  # the most one stream_audio block may decode to


class AudioLimitError(AudioError):
    """The audio is readable but over a decoding limit: rate or channels (``too_large`` False)
    or decoded size (``too_large`` True; the service answers 413)."""

    def __init__(
        self, source: object, problem: str, fix: str = "", too_large: bool = False
    ) -> None:
        super().__init__(source, problem, fix)
        self.too_large = too_large


@dataclass(frozen=True)
class DecodeLimits:
    """What decoding one file may cost, checked from the header before any sample is decoded.

    Attributes:
        min_rate: lowest accepted sample rate in Hz (a 1 Hz file costs seconds of resampling).
        max_rate: highest accepted sample rate in Hz.
        max_channels: most channels accepted.
        max_decoded_bytes: most ``frames x channels x 4`` bytes (float32) a file may decode to.
    """

    min_rate: int = 4000
    max_rate: int = 384_000
    max_channels: int = 32
    max_decoded_bytes: int = 1 << 30


DEFAULT_LIMITS = DecodeLimits()


def _describe(source: AudioSource, name: str | None) -> str:
    if name:
        return name
    if isinstance(source, (str, PathLike)):
        return str(source)
    return "<audio bytes>"


def missing_file_error(path: Path, label: str) -> AudioError:
    """The error for a path that is not a regular file: a folder, a pipe or device, or nothing there."""
    if path.is_dir():
        return AudioError(label, "is a folder, not an audio file", "pass the audio files in it")
    if path.exists():  # a FIFO, socket or device: reading it could block or never end
        return AudioError(
            label,
            "is not a regular file (a pipe, socket or device)",
            "save the audio to a file first",
        )
    return AudioError(label, "file not found", "check the path")


def audio_info(source: AudioSource, name: str | None = None) -> sf._SoundFileInfo:
    """Header information (rate, channels, frames) without decoding samples."""
    label = _describe(source, name)
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    if isinstance(source, (str, PathLike)) and not Path(source).is_file():
        raise missing_file_error(Path(source), label)
    try:
        return sf.info(handle)
    except Exception as exc:
        raise AudioError(
            label,
            f"not a readable audio file ({_short(exc)})",
            "convert it to wav/flac/ogg/mp3 with ffmpeg or sox",
        ) from None


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # soundfile quotes in-memory handles as "<_io.BytesIO object at 0x...>": noise to a user
    text = re.sub(r"<_io\.\w+ object at 0x[0-9a-f]+>:?\s*", "", text).strip() or type(exc).__name__
    return text[:160]


def check_limits(
    info: sf._SoundFileInfo, label: str, limits: DecodeLimits = DEFAULT_LIMITS
) -> None:
    """Refuse a header whose rate, channels or decoded size is over ``limits``.

    Raises:
        AudioLimitError: the rate or channel count is out of range, or the file would decode
            to more than ``limits.max_decoded_bytes``.
    """
    if not limits.min_rate <= info.samplerate <= limits.max_rate:
        raise AudioLimitError(
            label,
            f"has a sample rate of {info.samplerate} Hz, outside {limits.min_rate}-"
            f"{limits.max_rate} Hz",
            "resample it, e.g. `sox in.flac -r 16000 out.flac`",
        )
    if not 1 <= info.channels <= limits.max_channels:
        raise AudioLimitError(
            label,
            f"has {info.channels} channels, over the limit of {limits.max_channels}",
            "mix it down to mono, e.g. `sox in.flac -c 1 out.flac`",
        )
    size = max(int(info.frames), 0) * info.channels * 4
    if size > limits.max_decoded_bytes:
        raise AudioLimitError(
            label,
            f"would decode to {size / 2**20:.0f} MiB ({info.frames} frames x {info.channels} "
            f"channels), over the {limits.max_decoded_bytes / 2**20:.0f} MiB limit",
            "send a shorter or mono recording at 16 kHz",
            too_large=True,
        )


def _decode_mono(
    handle: object, info: sf._SoundFileInfo, label: str, limits: DecodeLimits
) -> np.ndarray:
    """Decode block by block, mixing down as it goes; the byte budget also bounds files whose
    header under-states their length."""
    budget = limits.max_decoded_bytes // (4 * info.channels)
    parts, frames = [], 0
    with sf.SoundFile(handle) as f:
        for block in f.blocks(blocksize=_BLOCK_FRAMES, dtype="float32", always_2d=True):
            frames += block.shape[0]
            if frames > budget:
                raise AudioLimitError(
                    label,
                    f"decodes to more than {limits.max_decoded_bytes / 2**20:.0f} MiB",
                    "send a shorter or mono recording at 16 kHz",
                    too_large=True,
                )
            if not np.isfinite(block).all():
                raise AudioError(
                    label, "contains NaN or infinite samples", "fix the writer that produced it"
                )
            parts.append(
                block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0].copy()
            )
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def load_audio(
    source: AudioSource,
    sample_rate: int | None = DEFAULT_SAMPLE_RATE,
    *,
    name: str | None = None,
    max_duration_s: float | None = MAX_DURATION_S,
    allow_silence: bool = True,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> tuple[np.ndarray, int]:
    """Decode ``source`` to a mono float32 array.

    Args:
        source: a path, raw file bytes or a binary file object.
        sample_rate: resample to this rate (``None`` keeps the file's rate).
        name: label used in error messages (defaults to the path).
        max_duration_s: refuse longer inputs (``None`` for no limit).
        allow_silence: if False, an all-zero signal is an error.
        limits: sample rate, channel and decoded-size bounds checked before decoding.

    Returns:
        ``(samples, rate)`` with samples of shape ``(n,)``, float32 in [-1, 1].

    Raises:
        AudioError: unreadable, empty, too long, or non-finite audio.
        AudioLimitError: over ``limits`` (an :class:`AudioError` too).
    """
    label = _describe(source, name)
    if isinstance(source, (str, PathLike)):
        path = Path(source)
        if not path.is_file():
            raise missing_file_error(path, label)
        if path.stat().st_size == 0:
            raise AudioError(label, "empty file (0 bytes)", "re-export or re-download it")
    elif isinstance(source, bytes) and len(source) == 0:
        raise AudioError(label, "empty upload (0 bytes)", "send the audio file's content")
    info = audio_info(source, name)
    if info.frames <= 0:
        raise AudioError(label, "contains no audio samples", "check the recording")
    if max_duration_s is not None and info.frames / info.samplerate > max_duration_s:
        raise AudioError(
            label,
            f"is {info.frames / info.samplerate:.0f} s long, over the {max_duration_s:.0f} s limit",
            "split it into shorter files or raise max_duration_s",
        )
    check_limits(info, label, limits)
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        mono = _decode_mono(handle, info, label, limits)
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(
            label,
            f"cannot be decoded ({_short(exc)}); the file is corrupt or truncated",
            "re-export it",
        ) from None
    return _finish(mono[:, None], info.samplerate, sample_rate, label, allow_silence)


def _finish(
    data: np.ndarray, rate: int, sample_rate: int | None, label: str, allow_silence: bool
) -> tuple[np.ndarray, int]:
    if data.size == 0:
        raise AudioError(label, "contains no audio samples", "check the recording")
    if not np.isfinite(data).all():
        raise AudioError(
            label, "contains NaN or infinite samples", "fix the writer that produced it"
        )
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    if not allow_silence and not np.any(mono):
        raise AudioError(label, "is digital silence (all samples zero)", "record actual speech")
    if sample_rate is not None and rate != sample_rate:
        mono = resample(mono, rate, sample_rate)
        rate = sample_rate
    return np.ascontiguousarray(np.clip(mono, -1.0, 1.0), dtype=np.float32), int(rate)


def stream_audio(
    source: str | PathLike,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    *,
    block_seconds: float = 60.0,
    name: str | None = None,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> Iterator[np.ndarray]:
    """Decode a (possibly hours-long) file block by block in bounded memory.

    Yields mono float32 blocks at ``sample_rate`` of about ``block_seconds`` each; resampling is
    continuous across blocks (soxr streaming), so concatenating the blocks equals
    :func:`load_audio` up to resampler edge effects. Raises :class:`AudioError` like ``load_audio``;
    only the rate and channel limits apply (the length is unbounded: memory is per block).
    """
    label = _describe(source, name)
    info = audio_info(source, name)
    if info.frames <= 0:
        raise AudioError(label, "contains no audio samples", "check the recording")
    check_limits(
        info,
        label,
        DecodeLimits(
            limits.min_rate, limits.max_rate, limits.max_channels, max_decoded_bytes=1 << 62
        ),
    )
    block = max(
        1, min(int(block_seconds * info.samplerate), _STREAM_BLOCK_BYTES // (4 * info.channels))
    )
    resampler = (
        soxr.ResampleStream(info.samplerate, sample_rate, 1, dtype="float32", quality="HQ")
        if info.samplerate != sample_rate
        else None
    )
    try:
        blocks = sf.blocks(str(source), blocksize=block, dtype="float32", always_2d=True)
        for data in blocks:
            if not np.isfinite(data).all():
                raise AudioError(
                    label, "contains NaN or infinite samples", "fix the writer that produced it"
                )
            mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
            if resampler is not None:
                mono = resampler.resample_chunk(mono, last=False)
            if mono.size:
                yield np.clip(mono, -1.0, 1.0)
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(
            label,
            f"cannot be decoded ({_short(exc)}); the file is corrupt or truncated",
            "re-export it",
        ) from None
    if resampler is not None:
        tail = resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        if tail.size:
            yield np.clip(tail, -1.0, 1.0)


def prepare_waveform(
    samples: np.ndarray, rate: int, sample_rate: int = DEFAULT_SAMPLE_RATE, name: str = "<array>"
) -> np.ndarray:
    """Validate an in-memory array (``(n,)`` or ``(n, channels)``) like a decoded file."""
    arr = np.asarray(samples)
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim != 2:
        raise AudioError(
            name, f"expected a 1-D or (samples, channels) array, got shape {arr.shape}"
        )
    if np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
    return _finish(arr.astype(np.float32, copy=False), int(rate), sample_rate, name, True)[0]


def save_audio(
    path: str | PathLike, samples: np.ndarray, sample_rate: int, **kwargs: object
) -> None:
    """Write mono float samples (format from the extension; FLAC/WAV are 16-bit PCM)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    subtype = kwargs.pop("subtype", None)
    if subtype is None and path.suffix.lower() in {".wav", ".flac"}:
        subtype = "PCM_16"
    sf.write(
        str(path), np.asarray(samples, dtype=np.float32), sample_rate, subtype=subtype, **kwargs
    )
