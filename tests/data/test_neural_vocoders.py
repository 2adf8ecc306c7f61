"""Neural vocoders trained here: shipped weights load (sha256-checked), copy-synthesis, training."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest
import torch

from voxguard.data.synth.neural_vocoders import (
    SPECS,
    VocoderError,
    load_vocoder,
    log_mel,
    shipped_vocoders,
    vocode,
)


def test_three_families_are_shipped():
    from voxguard.data.synth.neural_vocoders import bundled_dir

    names = shipped_vocoders()
    assert {"hifigan_s", "melgan_s", "vocos_s", "hifigan_gan", "melgan_gan", "vocos_gan"} <= set(
        names
    )
    families = {
        json.loads((bundled_dir() / n / "config.json").read_text())["family"] for n in names
    }
    assert families >= {"hifigan", "melgan", "vocos"}


def test_gan_fine_tuned_vocoders_are_their_base_architecture_with_a_lower_measured_mcd():
    from voxguard.data.synth.neural_vocoders import bundled_dir

    for name, base in (
        ("hifigan_gan", "hifigan_s"),
        ("melgan_gan", "melgan_s"),
        ("vocos_gan", "vocos_s"),
    ):
        meta = json.loads((bundled_dir() / name / "config.json").read_text())
        assert meta["kwargs"] == {
            k: list(v) if isinstance(v, tuple) else v for k, v in SPECS[base].kwargs
        }
        card = meta["card"]
        assert card["adversarial"] and card["initialised_from"]["from"] == base
        assert card["dev_mcd_db"] < card["dev_mcd_db_of_baseline"]


@pytest.mark.parametrize(
    "name", ["hifigan_s", "melgan_s", "vocos_s", "hifigan_gan", "vocos_gan", "melgan_gan"]
)
def test_copy_synthesis_keeps_length_and_is_finite(name):
    from voxguard.testing.audio import synthetic_speech

    x = synthetic_speech(0.7, 16000, seed=0)
    y = vocode(x, name)
    assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
    assert 1e-3 < np.sqrt(np.mean(y**2)) < 1.0


@pytest.mark.parametrize("family", ["hifigan", "melgan", "vocos", "nsf"])
def test_every_family_maps_a_mel_to_hop_times_frames_samples(family):
    spec = next(s for s in SPECS.values() if s.family == family)
    torch.manual_seed(0)
    mel = log_mel(0.1 * torch.randn(2, 2560))
    y = spec.build()(mel)
    assert y.shape == (2, mel.shape[-1] * 256)


def test_tampered_vocoder_is_refused(tmp_path):
    from voxguard.data.synth.neural_vocoders import bundled_dir

    bad = tmp_path / "vocos_copy"
    shutil.copytree(bundled_dir() / "vocos_s", bad)
    weights = bad / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(VocoderError, match="sha256"):
        load_vocoder(str(bad))
    with pytest.raises(VocoderError, match="shipped"):
        load_vocoder("no_such_vocoder")


def _tiny_run(shared_dir, out, **overrides):
    """A vocos_s run on three cohort files (two to train, one held out), tiny batches."""
    from voxguard.training.vocoder import VocoderTrainConfig

    files = sorted(str(p) for p in (shared_dir / "data" / "librispeech-cohort").glob("*.flac"))[:3]
    base = dict(
        vocoder="vocos_s",
        out=str(out),
        train_files=files[:2],
        dev_files=files[2:],
        steps=2,
        batch=2,
        segment=2048,
        eval_every=2,
    )
    return VocoderTrainConfig(**{**base, **overrides})


def test_training_runs_resumes_and_exports(tmp_path, shared_dir):
    from voxguard.training.vocoder import train

    cfg = _tiny_run(shared_dir, tmp_path / "run")
    train(cfg)
    cfg.steps = 3
    export = train(cfg)  # resumes from step 2
    meta = json.loads((export / "config.json").read_text())
    assert meta["card"]["steps"] == 3 and meta["family"] == "vocos"
    assert len([json.loads(x) for x in (tmp_path / "run" / "log.jsonl").open()]) == 3
    assert load_vocoder(str(export)) is not None


def test_mcd_is_zero_for_identical_signals_and_grows_with_distortion():
    from voxguard.testing.audio import synthetic_speech
    from voxguard.training.vocoder import mel_cepstral_distortion

    x = synthetic_speech(1.0, 16000, seed=1)
    noisy = x + 0.05 * np.random.default_rng(0).standard_normal(len(x)).astype(np.float32)
    assert mel_cepstral_distortion(x, x) == pytest.approx(0.0, abs=1e-6)
    assert mel_cepstral_distortion(x, noisy) > 1.0


def test_pkg_resources_stand_in(monkeypatch):
    from voxguard.data.synth import _pkg_resources

    monkeypatch.setitem(sys.modules, "pkg_resources", None)  # as on setuptools >= 81
    monkeypatch.setattr("builtins.__import__", _blocking_import(__import__))
    _pkg_resources.ensure_pkg_resources()
    mod = sys.modules["pkg_resources"]
    assert mod.get_distribution("numpy").version == np.__version__
    with pytest.raises(mod.DistributionNotFound):
        mod.get_distribution("surely-not-installed-xyz")


def _blocking_import(real):
    def imp(name, *args, **kwargs):
        if name == "pkg_resources":
            raise ImportError("pkg_resources removed")
        return real(name, *args, **kwargs)

    return imp


def test_training_from_a_shipped_vocoder_with_a_time_limit_and_no_mcd(tmp_path, shared_dir):
    from voxguard.data.synth.neural_vocoders import bundled_dir
    from voxguard.training.vocoder import train

    cfg = _tiny_run(
        shared_dir,
        tmp_path / "a",
        steps=50,
        eval_every=1,
        init_from="vocos_s",
        mcd=False,
        max_minutes=1e-9,
        gan_start=0,
        train_data="three cohort files",
    )
    export = train(cfg)  # the time limit is spent before the first step: exported as loaded
    card = json.loads((export / "config.json").read_text())["card"]
    shipped = json.loads((bundled_dir() / "vocos_s" / "config.json").read_text())["card"]
    assert card["stopped"] == "time" and card["steps"] == 0 and card["adversarial"]
    assert card["initialised_from"] == {"from": "vocos_s", "sha256": shipped["sha256"]}
    assert card["dev_mcd_db"] is None and card["dev_mel_l1"] > 0
    assert card["train_data"] == "three cohort files"
    # no step was taken, so the weights are the shipped ones
    assert card["sha256"] == shipped["sha256"]
