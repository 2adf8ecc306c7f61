"""Issue 16: decoding is bounded by the header before any sample is decoded.

The review's bombs (a 330 KB FLAC at 655,350 Hz x 8 channels, a 64-channel Vorbis, a 164-byte
WAV at 1 Hz) are refused by :func:`load_audio`; files within the limits decode block by block
with mixdown, so peak memory follows the mono output, not frames x channels.
"""

from __future__ import annotations

import io
import time
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from voxguard.audio import AudioLimitError, DecodeLimits, load_audio, stream_audio
from voxguard.errors import AudioError
from voxguard.testing import bombs


def test_flac_bomb_refused_by_rate():
    data = bombs.flac_bomb(5.0)
    assert len(data) < 100_000
    with pytest.raises(AudioLimitError, match="655350 Hz") as err:
        load_audio(data, name="bomb.flac")
    assert not err.value.too_large and "bomb.flac" in str(err.value)


def test_vorbis_bomb_refused_by_channels():
    with pytest.raises(AudioLimitError, match="64 channels"):
        load_audio(bombs.vorbis_bomb(0.5), name="bomb.ogg")


def test_one_hertz_wav_refused_fast():
    data = bombs.low_rate_wav()
    assert len(data) == 164
    t0 = time.process_time()
    with pytest.raises(AudioLimitError, match="1 Hz"):
        load_audio(data, name="slow.wav")
    assert time.process_time() - t0 < 0.5


def test_decoded_size_budget():
    data = bombs.in_budget_bomb(4.0, 48_000, 8)  # 5.9 MiB as float32
    with pytest.raises(AudioLimitError, match="MiB") as err:
        load_audio(data, limits=DecodeLimits(max_decoded_bytes=4 << 20))
    assert err.value.too_large
    out, rate = load_audio(data, limits=DecodeLimits(max_decoded_bytes=8 << 20))
    assert rate == 16000 and out.shape == (64000,)


def test_limit_error_is_an_audio_error():
    assert issubclass(AudioLimitError, AudioError)


def test_blockwise_mixdown_peak_memory():
    """An 8-channel file decodes without an 8-channel buffer of the whole file."""
    seconds, rate, channels = 20.0, 48_000, 8
    data = bombs.silent_file(rate, channels, seconds, "FLAC", "PCM_16")
    full = int(seconds * rate) * channels * 4  # what sf.read would allocate
    tracemalloc.start()
    load_audio(data, 16000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < full / 2, (peak, full)


def test_mixdown_matches_mean_of_channels():
    rng = np.random.default_rng(0)
    stereo = (rng.standard_normal((70_000, 2)) * 0.1).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, stereo, 16000, format="WAV", subtype="FLOAT")
    out, _ = load_audio(buf.getvalue(), None)
    np.testing.assert_allclose(out, stereo.mean(axis=1), atol=1e-6)


def test_stream_audio_checks_rate_and_channels(tmp_path):
    path = tmp_path / "bomb.flac"
    path.write_bytes(bombs.flac_bomb(2.0))
    with pytest.raises(AudioLimitError):
        next(stream_audio(path))
