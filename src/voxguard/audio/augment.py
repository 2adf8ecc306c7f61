"""Waveform augmentation: RawBoost (Tak et al., ICASSP 2022) and channel codecs.

RawBoost algorithms, each on a mono float signal with an explicit ``numpy.random.Generator``:

1. **convolutive** linear + non-linear noise: a sum of the signal's powers x^1..x^N, each
   through a random multi-band notch filter (a cascade of band-stop FIRs);
2. **impulsive** signal-dependent noise: a random few percent of samples get a multiplicative
   perturbation;
3. **stationary** signal-independent noise: coloured (filtered) white noise at a random SNR.

``algo`` 4 = 1→2→3 in series, 5 = 1→2, 6 = 1→3, 7 = 2→3, 8 = 1 and 2 in parallel (summed).
The FIR design (windowed-sinc band-stop, Hamming) and filtering are plain numpy.

Recording colour (:func:`random_colour`): a random zero-phase low-pass (Butterworth magnitude,
cutoff 3-7.6 kHz, order 1-4) or a high-shelf tilt (-15..+6 dB above 1.5-4 kHz), so that how
bright a recording is cannot tell bona fide from spoof when both classes get it.

Noise reduction (:func:`noise_reduction`): a random spectral-gating noise reducer of the kind
speech recordings often go through before publication (a per-bin noise profile from the quietest
frames, bins below a multiple of it attenuated, the mask smoothed), sometimes followed by a
silence gate, so that a cleaned recording cannot stand for "resynthesised" when both classes get it.

Frequency masking (:func:`band_mask`): one random band of the spectrum zeroed (FreqAugment, Chen
et al., "Generalization of audio deepfake detection", Odyssey 2020; AASIST's ``Freq_aug`` does the
same on its sinc filters), so that a detector cannot lean on one band alone.

Codecs (:func:`apply_codec`): ``mp3``, ``opus`` (soundfile / libsndfile ≥ 1.1) and ``ulaw8k``
(8 kHz G.711 μ-law telephone band), each decoded back to the input rate.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

import numpy as np
import soundfile as sf

from voxguard.audio.resample import resample
from voxguard.errors import AudioError

CODECS = ("mp3", "opus", "ulaw8k")


@dataclass(frozen=True)
class RawBoostConfig:
    """RawBoost hyper-parameters (the SSL_Anti-spoofing defaults)."""

    n_bands: int = 5
    min_f: float = 20.0
    max_f: float = 8000.0
    min_bw: float = 100.0
    max_bw: float = 1000.0
    min_coeff: int = 10
    max_coeff: int = 100
    min_g: float = 0.0
    max_g: float = 0.0
    min_bias: float = 5.0
    max_bias: float = 20.0
    n_f: int = 5
    p_impulsive: float = 10.0  # max % of samples perturbed (algo 2)
    g_sd: float = 2.0
    snr_min: float = 10.0
    snr_max: float = 40.0


def _normalize(x: np.ndarray, always: bool) -> np.ndarray:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 0 and (always or peak > 1):
        return x / peak
    return x


def _bandstop(n_taps: int, f1: float, f2: float, fs: float) -> np.ndarray:
    """Windowed-sinc (Hamming) band-stop FIR rejecting ``f1..f2`` Hz, unit gain at DC.

    ``n_taps`` must be odd (a type-I filter, so the pass band above ``f2`` exists).
    """
    m = np.arange(n_taps) - (n_taps - 1) / 2
    lo, hi = 2 * f1 / fs, 2 * f2 / fs  # as fractions of Nyquist
    h = lo * np.sinc(lo * m) + np.sinc(m) - hi * np.sinc(hi * m)  # low-pass + high-pass
    h *= np.hamming(n_taps)
    return h / np.sum(h)


def notch_filter(cfg: RawBoostConfig, rng: np.random.Generator, fs: int) -> np.ndarray:
    """A cascade of ``n_bands`` random band-stop FIRs, gain-normalised to a random ``G`` dB peak."""
    b = np.ones(1)
    for _ in range(cfg.n_bands):
        fc = rng.uniform(cfg.min_f, cfg.max_f)
        bw = rng.uniform(cfg.min_bw, cfg.max_bw)
        taps = int(rng.integers(cfg.min_coeff, cfg.max_coeff + 1))
        taps += 1 - taps % 2  # odd length: a type-I linear-phase band-stop
        f1 = max(fc - bw / 2, 1e-3)
        f2 = min(fc + bw / 2, fs / 2 - 1e-3)
        b = np.convolve(_bandstop(taps, f1, f2, fs), b)
    peak = np.max(np.abs(np.fft.rfft(b, 1024)))
    gain_db = rng.uniform(cfg.min_g, cfg.max_g)
    return 10 ** (gain_db / 20) * b / peak


def _fir(b: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.convolve(x, b)[: len(x)]


def convolutive_noise(
    x: np.ndarray, cfg: RawBoostConfig, rng: np.random.Generator, fs: int
) -> np.ndarray:
    """Algorithm 1: linear and non-linear convolutive noise."""
    y = np.zeros_like(x, dtype=np.float64)
    for i in range(cfg.n_f):
        if i == 1:  # the non-linear terms (x^2 ...) sit min_bias..max_bias dB lower
            cfg = replace(cfg, min_g=cfg.min_g - cfg.max_bias, max_g=cfg.max_g - cfg.min_bias)
        b = notch_filter(cfg, rng, fs)
        y += _fir(b, np.power(x.astype(np.float64), i + 1))
    y -= y.mean()
    return _normalize(y, always=False)


def impulsive_noise(x: np.ndarray, cfg: RawBoostConfig, rng: np.random.Generator) -> np.ndarray:
    """Algorithm 2: impulsive signal-dependent additive noise."""
    beta = rng.uniform(0, cfg.p_impulsive)
    y = x.astype(np.float64).copy()
    n = int(len(x) * beta / 100)
    idx = rng.permutation(len(x))[:n]
    f_r = (2 * rng.random(n) - 1) * (2 * rng.random(n) - 1)
    y[idx] = x[idx] + cfg.g_sd * x[idx] * f_r
    return _normalize(y, always=False)


def stationary_noise(
    x: np.ndarray, cfg: RawBoostConfig, rng: np.random.Generator, fs: int
) -> np.ndarray:
    """Algorithm 3: stationary signal-independent coloured noise at a random SNR."""
    noise = _fir(notch_filter(cfg, rng, fs), rng.standard_normal(len(x)))
    noise = _normalize(noise, always=True)
    snr = rng.uniform(cfg.snr_min, cfg.snr_max)
    norm_n, norm_x = np.linalg.norm(noise), np.linalg.norm(x)
    if norm_n == 0 or norm_x == 0:
        return x.astype(np.float64)
    return x + noise / norm_n * norm_x / 10 ** (0.05 * snr)


def rawboost(
    x: np.ndarray,
    algo: int,
    rng: np.random.Generator,
    fs: int = 16000,
    cfg: RawBoostConfig | None = None,
) -> np.ndarray:
    """Apply RawBoost algorithm ``algo`` (0 = none, 1-3 single, 4-7 series, 8 parallel 1+2)."""
    cfg = cfg or RawBoostConfig()
    steps = {0: (), 1: (1,), 2: (2,), 3: (3,), 4: (1, 2, 3), 5: (1, 2), 6: (1, 3), 7: (2, 3)}
    if algo == 8:
        y = convolutive_noise(x, cfg, rng, fs) + impulsive_noise(x, cfg, rng)
        return _normalize(y, always=False).astype(np.float32)
    if algo not in steps:
        raise ValueError(f"RawBoost algo must be 0..8, got {algo}")
    y = x
    for step in steps[algo]:
        if step == 1:
            y = convolutive_noise(y, cfg, rng, fs)
        elif step == 2:
            y = impulsive_noise(y, cfg, rng)
        else:
            y = stationary_noise(y, cfg, rng, fs)
    return np.asarray(y, dtype=np.float32)


def apply_codec(
    x: np.ndarray, codec: str, fs: int = 16000, bitrate: float | None = None
) -> np.ndarray:
    """Encode ``x`` with ``codec`` and decode it back to ``fs`` (same length as the input).

    Args:
        x: mono float signal in [-1, 1].
        codec: ``mp3``, ``opus``, ``ulaw8k`` or ``-`` / ``none`` (identity).
        fs: sample rate of ``x`` and of the result.
        bitrate: libsndfile compression level in [0, 1] (higher = more compression; libsndfile's
            MP3 encoder refuses 1.0, which comes back as this function's ``AudioError``).

    Raises:
        AudioError: unknown codec, or the libsndfile build cannot encode it.
    """
    if codec in ("-", "none", ""):
        return x.astype(np.float32)
    if codec not in CODECS:
        raise AudioError(f"codec {codec!r}", "is not supported", f"use one of {CODECS}")
    rate = 8000 if codec == "ulaw8k" else (48000 if codec == "opus" else fs)
    y = resample(x.astype(np.float32), fs, rate) if rate != fs else x.astype(np.float32)
    fmt, subtype = {
        "mp3": ("MP3", "MPEG_LAYER_III"),
        "opus": ("OGG", "OPUS"),
        "ulaw8k": ("WAV", "ULAW"),
    }[codec]
    if bitrate is not None and not 0.0 <= float(bitrate) <= 1.0:
        raise AudioError(f"codec bitrate {bitrate!r}", "is out of range", "use a level in [0, 1]")
    # soundfile (>= 0.13) takes the compression level when the file is opened; the attribute
    # is read-only afterwards
    level = {} if bitrate is None else {"compression_level": float(bitrate)}
    buf = io.BytesIO()
    try:
        with sf.SoundFile(buf, "w", rate, 1, subtype, format=fmt, **level) as fh:
            fh.write(np.clip(y, -1, 1))
        buf.seek(0)
        dec, dec_rate = sf.read(buf, dtype="float32")
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(
            f"codec {codec!r}",
            f"cannot be encoded here ({exc})",
            "install libsndfile >= 1.1 with mp3/opus support (soundfile >= 0.13 wheels have it)",
        ) from None
    dec = resample(dec.reshape(-1), dec_rate, fs) if dec_rate != fs else dec.reshape(-1)
    out = np.zeros(len(x), dtype=np.float32)
    out[: min(len(x), len(dec))] = dec[: len(x)]
    return out


def colour_gain(n_fft: int, fs: int, rng: np.random.Generator) -> np.ndarray:
    """The magnitude response ``(n_fft // 2 + 1,)`` of one random recording colour.

    Half the draws are a Butterworth low-pass magnitude ``1 / sqrt(1 + (f / fc) ** (2 n))``
    (``fc`` 3-7.6 kHz, order ``n`` 1-4: a duller microphone or an MP3-era band limit), the other
    half a linear-in-frequency high-shelf tilt reaching ``g`` dB (-15..+6) at Nyquist from a
    corner at 1.5-4 kHz (a brighter or darker room and microphone).
    """
    f = np.fft.rfftfreq(n_fft, 1.0 / fs)
    if rng.random() < 0.5:
        fc = rng.uniform(3000.0, min(7600.0, 0.475 * fs))
        order = int(rng.integers(1, 5))
        return 1.0 / np.sqrt(1.0 + (f / fc) ** (2 * order))
    corner = rng.uniform(1500.0, 4000.0)
    gain_db = rng.uniform(-15.0, 6.0)
    ramp = np.clip((f - corner) / (fs / 2 - corner), 0.0, 1.0)
    return 10.0 ** (gain_db * ramp / 20.0)


def random_colour(x: np.ndarray, rng: np.random.Generator, fs: int = 16000) -> np.ndarray:
    """``x`` through one random recording colour (:func:`colour_gain`), zero phase, same
    length and RMS as the input (so the level cue is left to the other augmentations)."""
    x = np.asarray(x, dtype=np.float32)
    if x.size == 0:
        return x
    n_fft = 1 << int(np.ceil(np.log2(len(x))))
    y = np.fft.irfft(np.fft.rfft(x, n_fft) * colour_gain(n_fft, fs, rng), n_fft)[: len(x)]
    rms_in, rms_out = float(np.sqrt(np.mean(x**2))), float(np.sqrt(np.mean(y**2)))
    if rms_out > 0:
        y *= rms_in / rms_out
    return y.astype(np.float32)


def band_mask(
    x: np.ndarray, rng: np.random.Generator, max_width_hz: float = 1000.0, fs: int = 16000
) -> np.ndarray:
    """``x`` with one random band zeroed, same length: width ~ U(0, ``max_width_hz``), start ~
    U(0, fs/2 - width). Done on the whole signal's FFT (a zero-phase brick-wall band-stop), which
    is the waveform form of masking consecutive bins of a linear spectrogram (FreqAugment)."""
    x = np.asarray(x, dtype=np.float32)
    if x.size == 0:
        return x
    width = float(rng.uniform(0.0, max_width_hz))
    f0 = float(rng.uniform(0.0, fs / 2 - width))
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1.0 / fs)
    spec[(f >= f0) & (f < f0 + width)] = 0
    return np.fft.irfft(spec, x.size).astype(np.float32)


def noise_floor(
    x: np.ndarray, rng: np.random.Generator, low_dbfs: float = -75.0, high_dbfs: float = -50.0
) -> np.ndarray:
    """``x`` plus white Gaussian noise whose RMS is ``L`` dB relative to full scale, ``L ~
    U(low_dbfs, high_dbfs)``: a recording noise floor at a random absolute level, whatever the
    signal's own level (RawBoost's algorithm 3 sets its noise relative to the signal instead).
    Given to both classes in training, it stops "how clean the pauses are" from standing for a
    class; :class:`voxguard.inference.runner.DitheredBackend` is the fixed-level form at inference."""
    x = np.asarray(x, dtype=np.float32)
    if not low_dbfs <= high_dbfs <= 0:
        raise ValueError(f"noise floor levels {low_dbfs}..{high_dbfs} dBFS: need low <= high <= 0")
    level = float(rng.uniform(low_dbfs, high_dbfs))
    return (
        x + rng.standard_normal(x.size).astype(np.float32) * np.float32(10.0 ** (level / 20.0))
    ).astype(np.float32)


def noise_reduction(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``x`` through a random spectral-gating noise reducer, same length.

    STFT (512 / 128, Hann); the noise profile is each bin's mean magnitude over the quietest
    10 % of frames; bins below ``k`` (2-4, a 6-12 dB sensitivity) times it are attenuated by
    10-40 dB, the 0/1 mask spread to its neighbours by a 3-7 bin x 3-9 frame average (kept bins
    stay kept), as noise reducers smooth their gains against musical noise; with probability 0.3
    the 25-ms frames below -50..-35 dB full scale are then set to zero (a silence gate).
    Parameters are drawn from ``rng``; inputs shorter than one frame come back unchanged.
    """
    x = np.asarray(x, dtype=np.float32)
    n_fft, hop = 512, 128
    if x.size < n_fft:
        return x
    win = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    pad = np.pad(x, (n_fft // 2, n_fft // 2 + hop), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(pad, n_fft)[::hop] * win
    spec = np.fft.rfft(frames, axis=1)
    mag = np.abs(spec)
    energy = (mag**2).sum(axis=1)
    quiet = energy <= np.percentile(energy, 10)  # the noise profile: the quietest 10 % of frames
    noise = mag[quiet].mean(axis=0, keepdims=True)
    mask = (mag > float(rng.uniform(2.0, 4.0)) * noise).astype(np.float32)
    kt, kf = (
        int(rng.integers(1, 5)) * 2 + 1,
        int(rng.integers(1, 4)) * 2 + 1,
    )  # 3-9 frames, 3-7 bins
    # smoothing spreads the kept bins to their neighbours; a kept bin stays kept (averaging the
    # 0/1 mask alone would halve a resolved harmonic between rejected bins)
    mask = np.maximum(mask, _box_smooth(_box_smooth(mask, kt, axis=0), kf, axis=1))
    floor = 10 ** (-float(rng.uniform(10, 40)) / 20)
    frames_out = np.fft.irfft(spec * (floor + (1 - floor) * mask), n_fft, axis=1) * win
    y = np.zeros(len(pad), np.float32)
    norm = np.zeros(len(pad), np.float32)
    for i, f in enumerate(frames_out):  # overlap-add, window-power normalised
        y[i * hop : i * hop + n_fft] += f
        norm[i * hop : i * hop + n_fft] += win**2
    y = (y / np.maximum(norm, 1e-3))[n_fft // 2 : n_fft // 2 + x.size]
    if rng.random() < 0.3:
        thr = 10 ** (float(rng.uniform(-50, -35)) / 20)
        n = 400
        for start in range(0, y.size, n):
            seg = y[start : start + n]
            if seg.size and np.sqrt(np.mean(seg**2)) < thr:
                y[start : start + n] = 0
    return y.astype(np.float32)


def _box_smooth(a: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Moving average of width ``k`` (odd) along ``axis``, edges padded with the edge value."""
    pad = [(0, 0)] * a.ndim
    pad[axis] = (k // 2, k // 2)
    c = np.cumsum(np.pad(a, pad, mode="edge"), axis=axis, dtype=np.float64)
    c = np.concatenate([np.zeros_like(np.take(c, [0], axis=axis)), c], axis=axis)
    hi = np.take(c, np.arange(k, c.shape[axis]), axis=axis)
    lo = np.take(c, np.arange(0, c.shape[axis] - k), axis=axis)
    return ((hi - lo) / k).astype(np.float32)
