"""Bad and unusual audio: every input either decodes to valid mono float32 or raises AudioError."""

import io
import struct

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voxguard.audio import load_audio, stream_audio
from voxguard.errors import AudioError
from voxguard.testing.audio import synthetic_speech


def _wav_bytes(samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="WAV", subtype=subtype)
    return buf.getvalue()


def _decode_or_audio_error(data: bytes) -> None:
    try:
        out, rate = load_audio(data, 16000, name="fuzz.bin")
    except AudioError as err:
        assert "fuzz.bin" in str(err)
        return
    assert out.dtype == np.float32 and out.ndim == 1 and rate == 16000
    assert np.isfinite(out).all() and np.abs(out).max(initial=0) <= 1.0


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes_never_crash(data):
    _decode_or_audio_error(data)


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 4000), st.integers(1, 255), st.data())
def test_mutated_wav_never_crashes(pos, flip, data):
    blob = bytearray(_wav_bytes(synthetic_speech(0.25), 16000))
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(blob) - 1))
        blob[i] ^= flip
    cut = data.draw(st.integers(0, len(blob)))
    _decode_or_audio_error(bytes(blob[:cut]))


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000])
def test_every_common_rate_resamples(rate):
    out, got = load_audio(_wav_bytes(synthetic_speech(0.5, rate), rate), 16000)
    assert got == 16000 and abs(len(out) - 8000) <= 2


@pytest.mark.parametrize("channels", [2, 6])
def test_multichannel_is_averaged(channels):
    sig = synthetic_speech(0.2)
    multi = np.stack([sig * (c % 2) for c in range(channels)], axis=1)
    out, _ = load_audio(_wav_bytes(multi, 16000, "FLOAT"), 16000)
    np.testing.assert_allclose(out, sig * (channels // 2) / channels, atol=1e-6)


def test_one_sample_and_silence_and_clipping():
    out, _ = load_audio(_wav_bytes(np.array([0.5]), 16000, "FLOAT"), 16000)
    assert out.shape == (1,)
    silent = _wav_bytes(np.zeros(1600), 16000)
    assert not load_audio(silent, 16000)[0].any()
    with pytest.raises(AudioError, match="silence"):
        load_audio(silent, 16000, allow_silence=False)
    loud, _ = load_audio(_wav_bytes(np.full(100, 3.0), 16000, "FLOAT"), 16000)
    assert loud.max() == 1.0


def test_inf_samples_rejected():
    sig = synthetic_speech(0.1)
    sig[5] = np.inf
    with pytest.raises(AudioError, match="infinite"):
        load_audio(_wav_bytes(sig, 16000, "FLOAT"), 16000, name="inf.wav")


def test_huge_header_claim_is_refused_or_truncated():
    blob = bytearray(_wav_bytes(synthetic_speech(0.1), 16000))
    data_at = blob.find(b"data")
    blob[data_at + 4 : data_at + 8] = struct.pack("<I", 0xFFFFFFF0)  # claims ~4 GB of samples
    blob[4:8] = struct.pack("<I", 0xFFFFFFF8)
    try:
        out, _ = load_audio(bytes(blob), 16000, name="huge.wav")
        assert len(out) <= 1600 + 10  # only the samples really present
    except AudioError as err:
        assert "huge.wav" in str(err)


def test_duration_limit(tmp_path):
    path = tmp_path / "long.flac"
    sf.write(str(path), synthetic_speech(3.0), 16000)
    with pytest.raises(AudioError, match="limit"):
        load_audio(path, max_duration_s=2.0)


def test_stream_matches_full_decode_in_bounded_blocks(tmp_path):
    path = tmp_path / "long.flac"
    sf.write(str(path), synthetic_speech(6.0, 44100), 44100)
    blocks = list(stream_audio(path, 16000, block_seconds=1.0))
    assert max(len(b) for b in blocks) <= 16000 * 1.05
    full, _ = load_audio(path)
    np.testing.assert_allclose(np.concatenate(blocks), full, atol=1e-6)
