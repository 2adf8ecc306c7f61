"""RawBoost and codec augmentation: known properties checked from the signals themselves."""

from __future__ import annotations

import numpy as np
import pytest

from voxguard.audio.augment import (
    RawBoostConfig,
    _bandstop,
    _box_smooth,
    apply_codec,
    band_mask,
    colour_gain,
    impulsive_noise,
    noise_floor,
    noise_reduction,
    notch_filter,
    random_colour,
    rawboost,
    stationary_noise,
)
from voxguard.errors import AudioError
from voxguard.testing.audio import synthetic_speech

FS = 16000


def _tone(freq: float, seconds: float = 0.5, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * FS)) / FS
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _gain(h: np.ndarray, freq: float) -> float:
    m = np.arange(len(h))
    return float(np.abs(np.sum(h * np.exp(-2j * np.pi * freq / FS * m))))


def test_bandstop_response():
    h = _bandstop(101, 1000.0, 2000.0, FS)
    assert _gain(h, 0.0) == pytest.approx(1.0, abs=1e-9)
    assert _gain(h, 1500.0) < 0.01  # the notch
    assert _gain(h, 100.0) > 0.97 and _gain(h, 5000.0) > 0.97 and _gain(h, 7900.0) > 0.97
    assert np.allclose(h, h[::-1])  # linear phase


def test_notch_filter_peak_gain_is_g():
    cfg = RawBoostConfig(min_g=-6.0, max_g=-6.0)
    b = notch_filter(cfg, np.random.default_rng(0), FS)
    peak = np.max(np.abs(np.fft.rfft(b, 1024)))
    assert peak == pytest.approx(10 ** (-6 / 20), rel=1e-6)


@pytest.mark.parametrize("algo", range(9))
def test_rawboost_shapes_and_determinism(algo):
    x = synthetic_speech(0.5, FS, seed=1)
    a = rawboost(x, algo, np.random.default_rng(7))
    b = rawboost(x, algo, np.random.default_rng(7))
    assert a.shape == x.shape and a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    if algo == 0:
        np.testing.assert_array_equal(a, x)
    else:
        assert not np.array_equal(a, x)


def test_stationary_noise_snr_in_range():
    cfg = RawBoostConfig()
    x = synthetic_speech(1.0, FS, seed=2).astype(np.float64)
    for seed in range(5):
        y = stationary_noise(x, cfg, np.random.default_rng(seed), FS)
        snr = 20 * np.log10(np.linalg.norm(x) / np.linalg.norm(y - x))
        assert cfg.snr_min - 1e-6 <= snr <= cfg.snr_max + 1e-6


def test_impulsive_noise_touches_few_samples():
    x = synthetic_speech(1.0, FS, seed=3)  # peak 0.3: x + 2·x·r stays below 1, no renormalisation
    y = impulsive_noise(x, RawBoostConfig(), np.random.default_rng(0))
    changed = np.mean(y != x)
    assert 0 < changed <= 0.10


def test_rawboost_bad_algo():
    with pytest.raises(ValueError, match="0..8"):
        rawboost(np.zeros(100, np.float32), 9, np.random.default_rng(0))


@pytest.mark.parametrize("codec", ["mp3", "opus", "ulaw8k"])
def test_codec_keeps_a_1khz_tone(codec):
    x = _tone(1000.0)
    y = apply_codec(x, codec, FS)
    assert y.shape == x.shape and y.dtype == np.float32
    mid = slice(2000, 6000)  # skip codec start-up
    assert abs(np.corrcoef(x[mid], y[mid])[0, 1]) > 0.95


def test_ulaw8k_removes_content_above_4khz():
    x = _tone(6000.0)
    y = apply_codec(x, "ulaw8k", FS)
    assert np.sqrt(np.mean(y[1000:-1000] ** 2)) < 0.01 * np.sqrt(np.mean(x**2))


def test_codec_identity_and_unknown():
    x = _tone(500.0)
    np.testing.assert_array_equal(apply_codec(x, "-"), x)
    with pytest.raises(AudioError, match="gsm"):
        apply_codec(x, "gsm")


def test_bandstop_matches_scipy_firwin():
    signal = pytest.importorskip("scipy.signal")
    for taps, f1, f2 in [(11, 20.0, 500.0), (101, 1000.0, 2000.0), (57, 6000.0, 7999.999)]:
        ref = signal.firwin(taps, [f1, f2], window="hamming", fs=FS)  # pass_zero: band-stop
        np.testing.assert_allclose(_bandstop(taps, f1, f2, FS), ref, atol=1e-12)


def test_colour_gain_shapes_are_lowpass_or_tilt():
    """Every draw is 1 at DC and monotone in frequency; a falling one is either a Butterworth
    low-pass (below 1/sqrt(2) at Nyquist: its cutoff is at most 7.6 kHz) or a tilt whose
    Nyquist gain lies in -15..+6 dB; both kinds occur."""
    rng = np.random.default_rng(0)
    kinds = set()
    for _ in range(200):
        g = colour_gain(1024, 16000, rng)
        assert g.shape == (513,)
        assert g[0] == pytest.approx(1.0)
        d = np.diff(g)
        assert np.all(d <= 1e-12) or np.all(d >= -1e-12)
        nyq_db = 20 * np.log10(g[-1])
        assert -15.0 - 1e-9 <= nyq_db <= 6.0 + 1e-9 or g[-1] < 1 / np.sqrt(2)
        flat_below_corner = np.all(g[np.fft.rfftfreq(1024, 1 / 16000) < 1500] == 1.0)
        kinds.add("tilt" if flat_below_corner else "lowpass")
        if not flat_below_corner:
            assert g[-1] < 1 / np.sqrt(2) and np.all(d <= 1e-12)
    assert kinds == {"lowpass", "tilt"}


def test_random_colour_keeps_length_and_rms_and_dulls_or_tilts_white_noise():
    rng = np.random.default_rng(1)
    x = np.random.default_rng(2).standard_normal(16000).astype(np.float32) * 0.1
    f = np.fft.rfftfreq(len(x), 1 / 16000)

    def hi(s: np.ndarray) -> float:
        return float(s[f > 7000].sum() / s[f < 1000].sum())

    changed = 0
    for _ in range(20):
        y = random_colour(x, rng)
        assert y.shape == x.shape and y.dtype == np.float32
        assert np.sqrt(np.mean(y**2)) == pytest.approx(np.sqrt(np.mean(x**2)), rel=1e-4)
        spec_x, spec_y = np.abs(np.fft.rfft(x)) ** 2, np.abs(np.fft.rfft(y)) ** 2
        changed += abs(np.log(hi(spec_y) / hi(spec_x))) > 0.1
    assert changed >= 15
    assert random_colour(np.zeros(0, np.float32), rng).size == 0


def test_noise_reduction_quiets_the_gaps_and_keeps_the_bursts():
    # tone bursts (0.5 s on, 0.5 s off) over weak white noise: a noise reducer must take the
    # noise in the gaps down by its reduction (>= 10 dB less the mask smoothing) and leave
    # most of the bursts; same length, deterministic for a seed
    t = np.arange(4 * FS) / FS
    on = (t % 1) < 0.5
    noise = 0.01 * np.random.default_rng(0).standard_normal(t.size)
    x = (0.3 * np.sin(2 * np.pi * 220 * t) * on + noise).astype(np.float32)
    gap, burst = ((t % 1) > 0.6) & ((t % 1) < 0.9), ((t % 1) > 0.1) & ((t % 1) < 0.4)

    def rms(v: np.ndarray) -> float:
        return float(np.sqrt(np.mean(v.astype(np.float64) ** 2)))

    for seed in range(8):
        y = noise_reduction(x, np.random.default_rng(seed))
        assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
        assert rms(y[gap]) < rms(x[gap]) / 2  # at least 6 dB quieter
        assert rms(y[burst]) > 0.5 * rms(x[burst])
        assert np.array_equal(y, noise_reduction(x, np.random.default_rng(seed)))
    short = np.ones(100, np.float32)
    assert np.array_equal(noise_reduction(short, np.random.default_rng(0)), short)


def test_box_smooth_is_a_centred_moving_average():
    a = np.arange(10, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    s = _box_smooth(a, 3, axis=0)
    assert np.allclose(s[1:-1, 0], np.arange(1, 9))  # a ramp is its own centred average
    assert s[0, 0] == pytest.approx((0 + 0 + 1) / 3) and s[-1, 0] == pytest.approx((8 + 9 + 9) / 3)
    assert np.allclose(_box_smooth(a, 5, axis=1), a)  # constant along that axis


def test_mp3_compression_level_is_applied_and_checked():
    # white noise: a higher compression level (lower bitrate) must leave a larger error against
    # the input than the lowest level (this libsndfile's MP3 encoder refuses level 1.0 itself)
    x = (np.random.default_rng(0).standard_normal(FS) * 0.1).astype(np.float32)
    err = {}
    for level in (0.0, 0.9):
        y = apply_codec(x, "mp3", FS, bitrate=level)
        assert y.shape == x.shape and np.isfinite(y).all()
        err[level] = float(np.mean((y - x) ** 2))
    assert err[0.9] > 1.5 * err[0.0]
    with pytest.raises(AudioError, match="out of range"):
        apply_codec(x, "mp3", FS, bitrate=2.0)


def test_band_mask_zeroes_one_band_of_at_most_the_width_and_keeps_the_rest():
    # a sum of tones on exact FFT bins every 50 Hz: after the mask, the tones inside one
    # contiguous band (<= 1 kHz wide) are gone and every other tone is untouched
    n = FS  # 1 s: bin k is k Hz
    t = np.arange(n) / FS
    freqs = np.arange(50, FS // 2, 50)
    x = sum(np.sin(2 * np.pi * f * t) for f in freqs).astype(np.float32) / len(freqs)
    amp_in = np.abs(np.fft.rfft(x))[freqs]
    widths = []
    for seed in range(20):
        y = band_mask(x, np.random.default_rng(seed))
        assert y.shape == x.shape and y.dtype == np.float32
        amp = np.abs(np.fft.rfft(y))[freqs]
        gone = np.flatnonzero(amp < 1e-3 * amp_in)
        assert np.allclose(np.delete(amp, gone), np.delete(amp_in, gone), rtol=1e-3)
        if gone.size:
            assert np.array_equal(gone, np.arange(gone[0], gone[-1] + 1))  # one contiguous band
            widths.append(freqs[gone[-1]] - freqs[gone[0]])
    assert widths and max(widths) < 1000 and len(set(widths)) > 3  # random widths, never over 1 kHz
    assert np.allclose(band_mask(x, np.random.default_rng(0), max_width_hz=0.0), x, atol=1e-6)
    assert band_mask(np.zeros(0, np.float32), np.random.default_rng(0)).size == 0


def test_noise_floor_adds_white_noise_at_the_drawn_absolute_level():
    # the level is drawn first from the generator, then the noise: replay the same stream by hand
    x = np.zeros(160000, np.float32)  # digital silence: what is left is the floor alone
    y = noise_floor(x, np.random.default_rng(3), -75.0, -50.0)
    level = np.random.default_rng(3).uniform(-75.0, -50.0)
    rms_db = 20 * np.log10(np.sqrt(np.mean(y.astype(np.float64) ** 2)))
    assert abs(rms_db - level) < 0.05
    assert y.dtype == np.float32 and y.shape == x.shape
    # white: the spectrum's low and high halves hold the same power within 5 %
    power = np.abs(np.fft.rfft(y)) ** 2
    half = power.size // 2
    assert abs(power[1:half].mean() / power[half:].mean() - 1) < 0.05


def test_noise_floor_is_independent_of_the_signal_level():
    loud = np.full(16000, 0.5, np.float32)
    quiet = np.full(16000, 0.001, np.float32)
    d_loud = noise_floor(loud, np.random.default_rng(0), -60.0, -60.0) - loud
    d_quiet = noise_floor(quiet, np.random.default_rng(0), -60.0, -60.0) - quiet
    np.testing.assert_allclose(d_loud, d_quiet, atol=1e-6)
    assert abs(20 * np.log10(np.sqrt(np.mean(d_loud.astype(np.float64) ** 2))) + 60.0) < 0.2


def test_noise_floor_refuses_levels_above_full_scale_or_reversed():
    with pytest.raises(ValueError, match="dBFS"):
        noise_floor(np.zeros(10, np.float32), np.random.default_rng(0), -40.0, 3.0)
    with pytest.raises(ValueError, match="dBFS"):
        noise_floor(np.zeros(10, np.float32), np.random.default_rng(0), -40.0, -60.0)
