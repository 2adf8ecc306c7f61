"""Channels applied to both classes, and the shortcut removal every output goes through.

Channels (:data:`CHANNELS`), each ``f(wav, rng, babble) -> wav`` at 16 kHz:
``-`` none; ``mp3``, ``opus``, ``ulaw8k`` codecs (decoded back); ``telephone`` (300–3,400 Hz
band-pass, 8 kHz and back); ``noise`` (white or pink at 5–20 dB SNR); ``babble`` (3–5 other
speakers summed, 5–15 dB SNR); ``reverb`` (pyroomacoustics image-source RIR of a random
shoebox room, RT60 0.2–0.8 s); ``gain-clip`` (+6…+18 dB then hard clip); ``speed`` (0.9–1.1×
by resampling, pitch moves with it).

Shortcut removal (:func:`normalise`): leading and trailing silence is trimmed with an energy
VAD, then both ends are padded with the same random-length (0.05–0.5 s) low-level noise
(−70…−55 dBFS) and the result is levelled to a random RMS (−32…−20 dBFS). Bona fide and spoof
draw from the same distributions, so duration, leading silence and loudness carry no label.
"""

from __future__ import annotations

import numpy as np

from voxguard.audio.augment import apply_codec
from voxguard.audio.resample import resample

SAMPLE_RATE = 16000


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def _at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    ps, pn = _rms(signal), _rms(noise)
    if ps == 0 or pn == 0:
        return signal
    return signal + noise * (ps / pn) * 10 ** (-snr_db / 20)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f noise by shaping white noise in the frequency domain."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spec / np.sqrt(f), n).astype(np.float32)


def _bandpass(x: np.ndarray, lo: float, hi: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / sr)
    spec[(f < lo) | (f > hi)] = 0
    return np.fft.irfft(spec, len(x)).astype(np.float32)


def telephone(x: np.ndarray, rng: np.random.Generator, babble=None) -> np.ndarray:
    y = _bandpass(x, 300.0, 3400.0)
    return resample(resample(y, SAMPLE_RATE, 8000), 8000, SAMPLE_RATE)[: len(x)]


def noise(x: np.ndarray, rng: np.random.Generator, babble=None) -> np.ndarray:
    n = rng.standard_normal(len(x)).astype(np.float32) if rng.random() < 0.5 else pink_noise(len(x), rng)
    return _at_snr(x, n, rng.uniform(5, 20))


def babble_noise(x: np.ndarray, rng: np.random.Generator, babble=None) -> np.ndarray:
    if not babble:
        return noise(x, rng)
    mix = np.zeros(len(x), dtype=np.float32)
    for _ in range(int(rng.integers(3, 6))):
        other = babble[int(rng.integers(len(babble)))]
        other = np.resize(other, len(x)) if len(other) < len(x) else other[: len(x)]
        mix += other / max(_rms(other), 1e-6)
    return _at_snr(x, mix, rng.uniform(5, 15))


def reverb(x: np.ndarray, rng: np.random.Generator, babble=None) -> np.ndarray:
    import pyroomacoustics as pra

    dims = rng.uniform([3, 3, 2.4], [10, 8, 3.5])
    rt60 = rng.uniform(0.2, 0.8)
    try:
        absorption, max_order = pra.inverse_sabine(rt60, dims)
    except ValueError:  # RT60 too long for the room: fall back to a damped one
        absorption, max_order = 0.5, 10
    room = pra.ShoeBox(dims, fs=SAMPLE_RATE, materials=pra.Material(absorption),
                       max_order=min(max_order, 12))
    room.add_source(rng.uniform([0.5, 0.5, 1.0], dims - 0.5))
    room.add_microphone(rng.uniform([0.5, 0.5, 1.0], dims - 0.5))
    room.compute_rir()
    rir = np.asarray(room.rir[0][0], dtype=np.float32)
    y = np.convolve(x, rir)[: len(x)]
    return y * (_rms(x) / max(_rms(y), 1e-9))


def gain_clip(x: np.ndarray, rng: np.random.Generator, babble=None) -> np.ndarray:
    peak = float(np.max(np.abs(x))) or 1.0
    return np.clip(x / peak * 10 ** (rng.uniform(6, 18) / 20), -1, 1).astype(np.float32)


def speed(x: np.ndarray, rng: np.random.Generator, babble=None) -> np.ndarray:
    factor = rng.uniform(0.9, 1.1)
    return resample(x, int(round(SAMPLE_RATE * factor)), SAMPLE_RATE)


def _codec(name: str):
    def f(x: np.ndarray, rng: np.random.Generator, babble=None) -> np.ndarray:
        return apply_codec(x.astype(np.float32), name, SAMPLE_RATE)

    return f


CHANNELS = {
    "-": lambda x, rng, babble=None: x,
    "mp3": _codec("mp3"),
    "opus": _codec("opus"),
    "ulaw8k": _codec("ulaw8k"),
    "telephone": telephone,
    "noise": noise,
    "babble": babble_noise,
    "reverb": reverb,
    "gain-clip": gain_clip,
    "speed": speed,
}


def apply_channel(x: np.ndarray, name: str, rng: np.random.Generator, babble=None) -> np.ndarray:
    """``x`` through channel ``name`` (see :data:`CHANNELS`), float32, finite."""
    y = np.asarray(CHANNELS[name](np.asarray(x, dtype=np.float32), rng, babble), dtype=np.float32)
    return np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)


# ---- shortcut removal ------------------------------------------------------------------------


def speech_bounds(x: np.ndarray, frame: int = 320, floor_db: float = -40.0) -> tuple[int, int]:
    """First and last sample of frames within ``floor_db`` of the loudest 20-ms frame."""
    n = len(x) // frame
    if n == 0:
        return 0, len(x)
    e = 10 * np.log10(np.mean(np.square(x[: n * frame].reshape(n, frame), dtype=np.float64), axis=1) + 1e-12)
    active = np.flatnonzero(e > e.max() + floor_db)
    if active.size == 0:
        return 0, len(x)
    return int(active[0] * frame), int(min(len(x), (active[-1] + 1) * frame))


def normalise(
    x: np.ndarray, rng: np.random.Generator, max_len: int | None = None
) -> tuple[np.ndarray, int]:
    """Trim silence, cut to ``max_len`` samples of speech, pad with low noise, level (module doc).

    Returns the new signal and the shift (samples) to add to a time in ``x`` to find it in the
    output (used to keep partial-spoof boundaries right).
    """
    a, b = speech_bounds(x)
    y = np.asarray(x[a:b], dtype=np.float64)
    if max_len is not None and len(y) > max_len:
        y = y[:max_len]
    rms = _rms(y)
    if rms > 0:
        y = y * (10 ** (rng.uniform(-32, -20) / 20) / rms)
    lead, trail = (int(rng.uniform(0.05, 0.5) * SAMPLE_RATE) for _ in range(2))
    floor = 10 ** (rng.uniform(-70, -55) / 20)
    pad = rng.standard_normal(lead + trail + len(y)) * floor
    pad[lead : lead + len(y)] += y
    peak = float(np.max(np.abs(pad))) if pad.size else 0.0
    if peak > 0.99:
        pad *= 0.99 / peak
    return pad.astype(np.float32), lead - a
