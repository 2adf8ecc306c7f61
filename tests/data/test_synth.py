"""voxguard-mini: generators, the benchmark builder and `voxguard data synth`."""

from __future__ import annotations

import time

import numpy as np
import pytest

from voxguard.cli.main import main
from voxguard.data.manifest import read_manifest
from voxguard.data.protocols import asvspoof2019
from voxguard.data.synth import tts
from voxguard.data.synth.attacks import ATTACKS, attacks_for
from voxguard.data.synth.build import BuildConfig, build, plan
from voxguard.data.synth.tts import SynthToolMissing


def _require(ids):
    for a in ids:
        try:
            ATTACKS[a].check()
        except SynthToolMissing as exc:
            pytest.skip(str(exc))


def test_attack_table_holds_out_eval_attacks():
    train, dev, ev = attacks_for("train"), attacks_for("dev"), attacks_for("eval")
    assert train == dev and len(train) == 6 and len(ev) == 6
    assert not set(train) & set(ev)


@pytest.mark.parametrize("attack_id", sorted(ATTACKS))
def test_each_attack_generates_16khz_speech(attack_id):
    _require([attack_id])
    from voxguard.testing.audio import synthetic_speech

    wav = synthetic_speech(1.0, 16000, seed=0)
    y = ATTACKS[attack_id].generate("hello world", wav, seed=1)
    assert y.dtype == np.float32 and y.ndim == 1 and 0.3 * 16000 < len(y) < 4 * 16000
    assert np.isfinite(y).all() and np.sqrt(np.mean(y**2)) > 1e-3


def test_piper_phoneme_ids():
    id_map = {"_": [0], "^": [1], "$": [2], " ": [3], "a": [14], "b": [15]}
    assert tts.phoneme_ids("ab ?", id_map) == [1, 0, 14, 0, 15, 0, 3, 0, 2]


def test_missing_program_names_the_package(monkeypatch):
    monkeypatch.setattr(tts.shutil, "which", lambda name: None)
    with pytest.raises(SynthToolMissing, match="apt-get install -y espeak-ng"):
        tts.espeak_ng("hello")
    with pytest.raises(SynthToolMissing, match="festvox-kdlpc16k"):
        ATTACKS["A07"].check()


def _tiny(shared_dir, out, **kw):
    cfg = dict(
        data=str(shared_dir / "data"),
        out=str(out),
        speakers=(1, 0, 1),
        utterances=2,
        attacks={"train": ["A06"], "eval": ["A06"]},
        workers=1,
    )
    cfg.update(kw)
    return BuildConfig(**cfg)


def test_build_is_resumable_and_deterministic(shared_dir, tmp_path):
    recs = build(_tiny(shared_dir, tmp_path / "a"), progress=False)
    assert len(recs) == 8
    first = {r.utt: (tmp_path / "a" / r.path).stat().st_mtime_ns for r in recs}
    build(_tiny(shared_dir, tmp_path / "a"), progress=False)
    assert {r.utt: (tmp_path / "a" / r.path).stat().st_mtime_ns for r in recs} == first
    build(_tiny(shared_dir, tmp_path / "b"), progress=False)
    for r in recs:
        assert (tmp_path / "a" / r.path).read_bytes() == (tmp_path / "b" / r.path).read_bytes()
    assert plan(_tiny(shared_dir, "x", seed=1)) != plan(_tiny(shared_dir, "x"))


def test_cli_synth_two_speakers_three_utterances(shared_dir, tmp_path):
    """The acceptance test: 2 speakers × 3 utterances with the full attack table, < 60 s."""
    _require(sorted(ATTACKS))
    out = tmp_path / "mini"
    start = time.perf_counter()
    rc = main(
        [
            "data",
            "synth",
            "--data",
            str(shared_dir / "data"),
            "--out",
            str(out),
            "--speakers",
            "1",
            "0",
            "1",
            "--utterances",
            "3",
            "--workers",
            "2",
            "--no-progress",
        ]
    )
    elapsed = time.perf_counter() - start
    assert rc == 0 and elapsed < 60, elapsed
    recs = read_manifest(out / "manifest.jsonl")
    assert len(recs) == 12
    train = asvspoof2019.load_split(out, "train")
    ev = asvspoof2019.load_split(out, "eval")
    assert {r.speaker for r in train}.isdisjoint({r.speaker for r in ev})
    assert {r.attack for r in train} - {"-"} <= set(attacks_for("train"))
    assert {r.attack for r in ev} - {"-"} <= set(attacks_for("eval"))
    assert sum(r.label == "bonafide" for r in ev) == 3 and sum(r.label == "spoof" for r in ev) == 3
    assert {r.codec for r in train} == {"-"} and len({r.codec for r in ev}) >= 2
    by_utt = {r.utt: r for r in recs}
    assert [by_utt[r.utt].codec for r in ev] == [r.codec for r in ev]  # protocol and manifest agree
    from voxguard.audio.io import load_audio

    for r in train:  # no codec: the level is exactly the target (-26 dBFS) unless peak-limited
        wav, rate = load_audio(r.resolve(None))
        rms_db = 20 * np.log10(np.sqrt(np.mean(wav**2)))
        assert rate == 16000 and 3.5 <= len(wav) / rate <= 6.0
        assert rms_db == pytest.approx(-26.0, abs=0.5) or np.max(np.abs(wav)) > 0.98
