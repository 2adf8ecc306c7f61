import numpy as np
import pytest
import soundfile as sf

from voxguard.audio import eval_crop, load_audio, sliding_windows, train_crop
from voxguard.errors import AudioError
from voxguard.testing.audio import synthetic_speech, write_wav


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
def test_formats_decode_to_mono_16k(tmp_path, ext):
    path = tmp_path / f"a.{ext}"
    sig = synthetic_speech(1.0, 22050)
    sf.write(str(path), np.stack([sig, sig], 1), 22050)
    out, rate = load_audio(path)
    assert rate == 16000 and out.dtype == np.float32 and out.ndim == 1
    assert abs(len(out) - 16000) < 1200  # mp3 adds encoder padding


def test_resample_keeps_tone(tmp_path):
    t = np.arange(48000) / 48000
    sf.write(str(tmp_path / "t.wav"), 0.5 * np.sin(2 * np.pi * 1000 * t), 48000)
    out, _ = load_audio(tmp_path / "t.wav", 16000)
    peak = np.argmax(np.abs(np.fft.rfft(out))) * 16000 / len(out)
    assert abs(peak - 1000) < 2


@pytest.mark.parametrize(
    "content, problem",
    [(b"", "empty"), (b"this is not audio at all" * 10, "not a readable audio")],
)
def test_bad_files_name_the_file(tmp_path, content, problem):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=problem) as err:
        load_audio(path)
    assert "bad.wav" in str(err.value)


def test_truncated_and_nan(tmp_path):
    good = write_wav(tmp_path / "g.flac", 2.0)
    (tmp_path / "trunc.flac").write_bytes(good.read_bytes()[:200])
    with pytest.raises(AudioError, match="trunc.flac"):
        load_audio(tmp_path / "trunc.flac")
    sig = synthetic_speech(0.5)
    sig[100] = np.nan
    sf.write(str(tmp_path / "nan.wav"), sig, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        load_audio(tmp_path / "nan.wav")
    with pytest.raises(AudioError, match="not found"):
        load_audio(tmp_path / "missing.wav")


def test_crops_follow_aasist_conventions():
    x = np.arange(10, dtype=np.float32)
    assert np.array_equal(eval_crop(x, 25), np.tile(x, 3)[:25])
    assert np.array_equal(eval_crop(np.arange(30.0), 25), np.arange(25.0))
    crop = train_crop(np.arange(100.0), 25, np.random.default_rng(0))
    assert len(crop) == 25 and np.all(np.diff(crop) == 1)
    win = sliding_windows(np.arange(100.0), 40, 30)
    assert win.shape == (3, 40) and win[-1, -1] == 99
    assert sliding_windows(np.arange(101.0), 40, 30).shape == (4, 40)
