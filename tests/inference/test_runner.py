"""The batching runner: streamed windows, window means, batching, per-file errors."""

from __future__ import annotations

import numpy as np
import pytest

from voxguard.audio import load_audio, sliding_windows
from voxguard.audio.crop import eval_crop
from voxguard.inference.runner import Runner, WindowPolicy, iter_windows


class Recorder:
    """Backend returning per-row [mean, first sample] and recording batch shapes."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, int]] = []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.shapes.append(batch.shape)
        return np.stack([batch.mean(1), batch[:, 0]], axis=1)


@pytest.mark.parametrize(
    "n,length,hop,block",
    [
        (10, 4, None, 3),
        (16, 4, None, 5),
        (17, 4, 3, 2),
        (3, 4, None, 1),
        (4, 4, 2, 100),
        (1000, 64, 50, 77),
    ],
)
def test_iter_windows_equals_sliding_windows(n, length, hop, block):
    x = np.arange(n, dtype=np.float32)
    blocks = [x[i : i + block] for i in range(0, n, block)]
    got = np.stack(list(iter_windows(blocks, length, hop)))
    np.testing.assert_array_equal(got, sliding_windows(x, length, hop))


def test_long_signal_is_mean_of_window_outputs_in_bounded_batches():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 16000 * 25).astype(np.float32)
    rec = Recorder()
    runner = Runner(rec, WindowPolicy(length=16000, mode="crop", long_file_s=20.0), batch_size=4)
    ((out, n, _),) = [(r.output, r.n_windows, r.active) for r in runner.run_arrays([x])]
    windows = sliding_windows(x, 16000)
    assert n == len(windows) == 25
    np.testing.assert_allclose(out, [windows.mean(1).mean(), windows[:, 0].mean()], rtol=1e-5)
    assert max(s[0] for s in rec.shapes) == 4


def test_short_signals_are_cropped_and_batched_together():
    rng = np.random.default_rng(1)
    signals = [rng.uniform(-1, 1, n).astype(np.float32) for n in (500, 2000, 1200)]
    rec = Recorder()
    runner = Runner(rec, WindowPolicy(length=1000, mode="crop"), batch_size=8)
    outs = runner.run_arrays(signals)
    assert rec.shapes == [(3, 1000)]
    for sig, res in zip(signals, outs, strict=True):
        out, n = res.output, res.n_windows
        assert n == 1 and res.active == 1.0  # uniform noise in [-1, 1] is loud everywhere
        assert out[0] == pytest.approx(eval_crop(sig, 1000).mean(), rel=1e-5)


def test_windows_mode_applies_to_short_signals_too():
    x = np.linspace(-1, 1, 3500, dtype=np.float32)
    runner = Runner(Recorder(), WindowPolicy(length=1000, mode="windows"))
    ((out, n, _),) = [(r.output, r.n_windows, r.active) for r in runner.run_arrays([x])]
    assert n == 4
    assert out[1] == pytest.approx(sliding_windows(x, 1000)[:, 0].mean(), rel=1e-5)


def test_run_files_captures_errors_and_streams_long_files(audio_files):
    rec = Recorder()
    runner = Runner(rec, WindowPolicy(length=16000, mode="crop", long_file_s=20.0), batch_size=2)
    paths = [audio_files["good"], audio_files["nan"], audio_files["long"], audio_files["good2"]]
    done = []
    outs = runner.run_files(paths, progress=done.append)
    assert sum(done) == 4
    assert [o.ok for o in outs] == [True, False, True, True]
    assert "NaN" in outs[1].error and str(audio_files["nan"]) in outs[1].error
    long = load_audio(audio_files["long"])[0]
    assert outs[2].n_windows == 30
    assert outs[2].output[0] == pytest.approx(sliding_windows(long, 16000).mean(), abs=1e-6)
    assert outs[3].output[0] == pytest.approx(
        eval_crop(load_audio(audio_files["good2"])[0], 16000).mean(), rel=1e-5
    )
    assert max(s[0] for s in rec.shapes) <= 2


def test_bad_policy_is_rejected():
    with pytest.raises(ValueError, match="mode"):
        WindowPolicy(mode="everything")


def test_long_files_are_streamed_not_decoded_whole(audio_files, monkeypatch):
    import voxguard.inference.runner as runner_module

    def refuse(*args, **kwargs):
        raise AssertionError("a long file must be streamed, not decoded whole")

    monkeypatch.setattr(runner_module, "load_audio", refuse)
    rec = Recorder()
    runner = Runner(rec, WindowPolicy(length=16000, long_file_s=20.0), batch_size=3)
    (out,) = runner.run_files([audio_files["long"]])
    assert out.ok and out.n_windows == 30
    assert max(s[0] for s in rec.shapes) == 3


def test_a_model_failure_on_one_file_spares_the_rest_of_its_batch(audio_files, tmp_path):
    from voxguard.audio import save_audio

    save_audio(tmp_path / "flat.wav", np.full(16000, 0.25, dtype=np.float32), 16000)

    def backend(batch: np.ndarray) -> np.ndarray:
        if np.any(batch.std(axis=1) == 0):
            raise RuntimeError("cannot normalise a constant input")
        return batch[:, :2]

    runner = Runner(backend, WindowPolicy(length=8000), batch_size=8)
    outs = runner.run_files([audio_files["good"], tmp_path / "flat.wav", audio_files["good2"]])
    assert [o.ok for o in outs] == [True, False, True]
    assert str(tmp_path / "flat.wav") in outs[1].error and "RuntimeError" in outs[1].error
    np.testing.assert_allclose(outs[0].output, load_audio(audio_files["good"])[0][:2])
