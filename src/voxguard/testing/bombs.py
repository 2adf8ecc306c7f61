"""Decompression bombs for tests and benchmarks: tiny files that declare huge decoded sizes.

Each function returns the encoded bytes; silence compresses to almost nothing, so a few hundred
KB of FLAC can declare gigabytes of samples.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import soundfile as sf


def silent_file(
    rate: int, channels: int, seconds: float, fmt: str = "FLAC", subtype: str | None = None
) -> bytes:
    """``seconds`` of digital silence at ``rate`` Hz on ``channels`` channels, encoded in memory.

    Written block by block, so making the file never holds the decoded size in memory.
    """
    buf = io.BytesIO()
    block = np.zeros((1 << 16, channels), dtype=np.float32)
    with sf.SoundFile(buf, "w", rate, channels, subtype=subtype, format=fmt) as f:
        left = int(rate * seconds)
        while left > 0:
            n = min(left, block.shape[0])
            f.write(block[:n])
            left -= n
    return buf.getvalue()


def flac_bomb(seconds: float = 59.0) -> bytes:
    """The review's FLAC: 655,350 Hz (FLAC's maximum), 8 channels, ``seconds`` of zeros."""
    return silent_file(655_350, 8, seconds, "FLAC", "PCM_16")


def vorbis_bomb(seconds: float = 59.0, channels: int = 64) -> bytes:
    """The review's Ogg Vorbis: 192 kHz, 64 channels of silence."""
    return silent_file(192_000, channels, seconds, "OGG", "VORBIS")


def low_rate_wav(rate: int = 1, frames: int = 60) -> bytes:
    """A tiny 16-bit mono WAV at an absurd rate (1 Hz: 60 samples are a minute of audio)."""
    data = (np.sin(np.arange(frames)) * 10000).astype("<i2").tobytes()
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    return header + b"data" + struct.pack("<I", len(data)) + data


def in_budget_bomb(seconds: float = 59.0, rate: int = 96_000, channels: int = 2) -> bytes:
    """The largest kind of file a default server still decodes (96 kHz stereo, under a minute)."""
    return silent_file(rate, channels, seconds, "FLAC", "PCM_16")
