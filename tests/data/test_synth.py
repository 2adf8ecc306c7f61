"""The spoof data engine: catalogue, every generator, channels, partial spoofs, builder, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voxguard.cli.main import main
from voxguard.data.manifest import read_manifest
from voxguard.data.protocols import asvspoof2019
from voxguard.data.synth import tts
from voxguard.data.synth.attacks import ATTACKS, LEGACY_IDS, attacks_for, get_attack
from voxguard.data.synth.build import BuildConfig, SourceSpec, _splice, build, plan
from voxguard.data.synth.channels import CHANNELS, apply_channel, normalise, speech_bounds
from voxguard.data.synth.tts import SynthToolMissing


def _require(ids):
    for a in ids:
        try:
            get_attack(a).check()
        except SynthToolMissing as exc:
            pytest.skip(str(exc))


def test_catalogue_has_families_and_reserves_whole_families_for_eval():
    rows = list(ATTACKS.values())
    assert len(rows) >= 30 and len({a.family for a in rows}) >= 8
    neural = [a for a in rows if a.engine == "neural"]
    assert {a.family for a in neural} == {"hifigan-vocoder", "melgan-vocoder", "vocos-vocoder"}
    assert any(a.kind == "partial" for a in rows)
    train, ev = set(attacks_for("train")), set(attacks_for("eval"))
    assert train == set(attacks_for("dev")) and not train & ev
    # a reserved family or engine never reaches training
    assert not {a for a in train if ATTACKS[a].family == "melgan-vocoder" or ATTACKS[a].engine == "festival"}
    assert {ATTACKS[a].family for a in ev} >= {"melgan-vocoder", "diphone-tts", "hts-tts"}
    assert get_attack("A06").id == LEGACY_IDS["A06"] == "voc-griffin-lim"


def test_cli_attacks_json(capsys):
    assert main(["data", "attacks", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(ATTACKS)
    assert {"id", "family", "kind", "engine", "voice", "eval_only"} <= set(rows[0])


@pytest.mark.parametrize("attack_id", sorted(a for a in ATTACKS if ATTACKS[a].kind != "partial"))
def test_each_generator_makes_16khz_audio(attack_id):
    _require([attack_id])
    from voxguard.testing.audio import synthetic_speech

    wav = synthetic_speech(1.0, 16000, seed=0)
    y = ATTACKS[attack_id].generate("hello world", wav, seed=1)
    assert y.dtype == np.float32 and y.ndim == 1 and 0.3 * 16000 < len(y) < 4 * 16000
    assert np.isfinite(y).all() and np.sqrt(np.mean(y**2)) > 1e-3
    if ATTACKS[attack_id].kind == "vocoder":  # a copy keeps the length of its original
        assert abs(len(y) - len(wav)) <= 1


@pytest.mark.parametrize("attack_id", sorted(a for a in ATTACKS if ATTACKS[a].kind == "vocoder"))
def test_a_copy_does_not_depend_on_what_the_process_made_before(attack_id):
    # an engine build's files must not depend on which files a worker made first (SPTK's
    # M-sequence excitation kept its state between calls: the MLSA copies did)
    _require([attack_id])
    from voxguard.testing.audio import synthetic_speech

    a, b = synthetic_speech(1.0, 16000, seed=0), synthetic_speech(1.0, 16000, seed=1)
    first = ATTACKS[attack_id].generate("hello world", a, seed=1)
    ATTACKS[attack_id].generate("hello world", b, seed=2)
    assert np.array_equal(ATTACKS[attack_id].generate("hello world", a, seed=1), first)


def test_kokoro_voice_mixture_is_the_mean_of_the_styles():
    _require(["kokoro-jf_alpha"])
    text = "the cat sat on the mat"
    alpha, kumo = tts.kokoro(text, "jf_alpha"), tts.kokoro(text, "jm_kumo")
    assert np.array_equal(tts.kokoro(text, "jf_alpha+jf_alpha"), alpha)  # a mean of one style
    mix = tts.kokoro(text, "jf_alpha+jm_kumo")
    assert np.isfinite(mix).all() and len(mix) > 0.3 * 16000
    n = min(len(mix), len(alpha), len(kumo))
    assert not np.allclose(mix[:n], alpha[:n], atol=1e-3)
    assert not np.allclose(mix[:n], kumo[:n], atol=1e-3)
    with pytest.raises(tts.SynthFailed, match="'nobody'"):
        tts.kokoro(text, "jf_alpha+nobody")


def test_kokoro_mixture_attacks_are_named_only_and_leave_the_unseen_voice_out():
    mixes = [a for a in ATTACKS.values() if a.id.startswith("kokoro-mix-")]
    train_voices = {"jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro"}
    assert len(mixes) == 6  # every pair of the four train voices, once
    assert {frozenset(a.voice.split("+")) for a in mixes} == {
        frozenset((v, w)) for v in train_voices for w in train_voices if v < w}
    assert all(not a.eval_only and not a.in_default_build and a.family == "styletts2-tts" for a in mixes)
    assert not {a.id for a in mixes} & set(attacks_for("train") + attacks_for("dev"))  # default build unchanged
    assert {a.id for a in mixes} <= set(attacks_for("train", default_build=False))


def test_kokoro_blend_attacks_are_new_voices_of_the_train_voices_only():
    blends = [a for a in ATTACKS.values() if a.id.startswith("kokoro-blend-")]
    train_voices = {"jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro"}
    # C(4,3) + C(4,4) equal means, and 4 * 3 ordered 3:1 pairs
    assert len(blends) == 4 + 1 + 12
    parts = [a.voice.split("+") for a in blends]
    assert all(set(p) <= train_voices for p in parts)  # the eval's unseen voice in none
    weighted = [p for p in parts if len(p) == 4 and len(set(p)) == 2]
    assert len(weighted) == 12 and all(sorted(p.count(v) for v in set(p)) == [1, 3] for p in weighted)
    equal = [frozenset(p) for p in parts if len(set(p)) == len(p)]
    assert len(set(equal)) == 5 and all(len(e) in (3, 4) for e in equal)
    # none repeats a voice that exists already: every equal blend has 3 or 4 voices (above), so
    # it is neither a shipped voice nor one of the six pair means
    mixes = {frozenset(a.voice.split("+")) for a in ATTACKS.values() if a.id.startswith("kokoro-mix-")}
    assert not set(equal) & mixes
    assert all(not a.eval_only and not a.in_default_build and a.family == "styletts2-tts" for a in blends)
    assert not {a.id for a in blends} & set(attacks_for("train") + attacks_for("dev"))  # default build unchanged


def test_piper_phoneme_ids():
    id_map = {"_": [0], "^": [1], "$": [2], " ": [3], "a": [14], "b": [15]}
    assert tts.phoneme_ids("ab ?", id_map) == [1, 0, 14, 0, 15, 0, 3, 0, 2]


def test_missing_program_names_the_package(monkeypatch):
    monkeypatch.setattr(tts.shutil, "which", lambda name: None)
    with pytest.raises(SynthToolMissing, match="apt-get install -y espeak-ng"):
        tts.espeak_ng("hello")
    with pytest.raises(SynthToolMissing, match="festvox-kdlpc16k"):
        get_attack("festival-ked").check()


@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_each_channel_changes_the_signal_and_stays_finite(name):
    from voxguard.testing.audio import synthetic_speech

    x = synthetic_speech(1.5, 16000, seed=3) * 0.3
    babble = [synthetic_speech(2.0, 16000, seed=s) for s in range(4)]
    y = apply_channel(x, name, np.random.default_rng(0), babble)
    assert y.dtype == np.float32 and np.isfinite(y).all()
    if name == "-":
        assert np.array_equal(y, x)
    else:
        assert 0.85 * len(x) <= len(y) <= 1.15 * len(x)
        n = min(len(x), len(y))
        assert not np.allclose(y[:n], x[:n], atol=1e-4)


def test_normalise_trims_pads_and_levels_with_the_same_distribution():
    rng = np.random.default_rng(0)
    speech = 0.3 * np.sin(2 * np.pi * 200 * np.arange(16000) / 16000).astype(np.float32)
    x = np.r_[np.zeros(8000, np.float32), speech, np.zeros(24000, np.float32)]
    y, shift = normalise(x, rng)
    a, b = speech_bounds(y)
    assert 0.04 * 16000 <= a <= 0.52 * 16000  # the new lead is the drawn pad, not the old 0.5 s
    assert shift == a - 8000 or abs(shift - (a - 8000)) <= 320
    rms = 20 * np.log10(np.sqrt(np.mean(y[a:b] ** 2)))
    assert -33 <= rms <= -19


def test_partial_spoof_boundaries_cover_exactly_the_replaced_samples():
    from voxguard.data.synth.build import Job

    _require(["voc-griffin-lim"])
    rng = np.random.default_rng(0)
    wav = (0.1 * np.random.default_rng(1).standard_normal(6 * 16000)).astype(np.float32)
    job = Job("u", "train", "s", "c", "spoof", "partial-seen", "voc-griffin-lim", "-", "src", "src", "a b c", 7)
    out, (s, e) = _splice(job, wav, rng)
    assert 16000 <= e - s <= 2.5 * 16000 and 0 <= s < e <= len(wav)
    assert np.array_equal(out[:s], wav[:s]) and np.array_equal(out[e:], wav[e:])
    assert not np.allclose(out[s:e], wav[s:e])


def _tiny(shared_dir, out, **kw):
    cfg = dict(
        data=str(shared_dir / "data"),
        out=str(out),
        sources=[SourceSpec("librispeech-mini", (1, 0, 1), 2)],
        attacks={"train": ["voc-griffin-lim", "partial-seen"], "eval": ["voc-griffin-lim"]},
        p_partial=0.5,
        workers=1,
    )
    cfg.update(kw)
    return BuildConfig(**cfg)


def test_build_is_resumable_and_deterministic(shared_dir, tmp_path):
    _require(["voc-griffin-lim"])
    recs = build(_tiny(shared_dir, tmp_path / "a"), progress=False)
    assert len(recs) == 12
    first = {r.utt: (tmp_path / "a" / r.path).stat().st_mtime_ns for r in recs}
    build(_tiny(shared_dir, tmp_path / "a"), progress=False)
    assert {r.utt: (tmp_path / "a" / r.path).stat().st_mtime_ns for r in recs} == first
    build(_tiny(shared_dir, tmp_path / "b"), progress=False)
    for r in recs:
        assert (tmp_path / "a" / r.path).read_bytes() == (tmp_path / "b" / r.path).read_bytes()
    assert plan(_tiny(shared_dir, "x", seed=1)) != plan(_tiny(shared_dir, "x"))
    for r in recs:
        if r.attack == "partial-seen":
            s, e = r.extra["segment"]
            assert 0 <= s < e <= r.duration and 0.8 <= e - s <= 2.8


def test_channels_are_balanced_over_both_classes(shared_dir):
    cfg = BuildConfig(data=str(shared_dir / "data"), out="x", sources=[SourceSpec("librispeech-mini", (4, 1, 4), 6)])
    jobs = plan(cfg)
    for split in ("train", "eval"):
        part = [j for j in jobs if j.split == split]
        for label in ("bonafide", "spoof"):
            cls = [j for j in part if j.label == label]
            with_channel = sum(j.channel != "-" for j in cls) / len(cls)
            assert with_channel == pytest.approx(cfg.p_channel, abs=0.05)
            assert len({j.channel for j in cls}) >= 5
    assert {j.speaker for j in jobs if j.split == "train"}.isdisjoint({j.speaker for j in jobs if j.split == "eval"})


def test_a_speaker_in_dev_or_eval_is_not_trained_through_another_corpus(shared_dir):
    # every librispeech-mini speaker is also a librispeech-cohort speaker (global LibriSpeech ids)
    sources = [SourceSpec("librispeech-mini", (2, 3, 3), 1), SourceSpec("librispeech-cohort", (-1, 0, 0), 1)]
    cfg = BuildConfig(data=str(shared_dir / "data"), out="x", sources=sources, spoofs_per_utt=0)
    jobs = plan(cfg)
    held = {j.speaker for j in jobs if j.split != "train"}
    train = {j.speaker for j in jobs if j.split == "train"}
    assert len(held) == 6 and not train & held
    assert len(train) == 251 - 6  # the cohort less the six held-out speakers (the 2 mini train ones are in it)
    # the switch that reproduces the builds made before keeps them (engine-l)
    legacy = plan(BuildConfig(**{**cfg.__dict__, "cross_corpus_speakers": True}))
    assert {j.speaker for j in legacy if j.split == "train"} & held == held


def test_a_dev_only_build_of_untranscribed_speakers_reads_training_transcripts(shared_dir):
    # the cohort has no transcripts and a dev-only build lends none from its train split: the TTS
    # attacks read transcripts of the manifest's training corpora, never of a validation / test one
    cfg = BuildConfig(data=str(shared_dir / "data"), out="x", sources=[SourceSpec("librispeech-cohort", (0, 5, 0), 1)])
    jobs = plan(cfg)
    assert {j.split for j in jobs} == {"dev"} and len({j.speaker for j in jobs}) == 5
    texts = {j.text for j in jobs}
    assert all(t and len(t.split()) >= 3 for t in texts)
    other = [r.text.lower() for r in read_manifest(shared_dir / "data" / "manifest.jsonl", default_label="bonafide")
             if r.corpus == "librispeech-test-other" and r.text]
    assert not any(t in o for t in texts for o in other)


def test_validation_corpora_cannot_be_sources(shared_dir):
    from voxguard.data.synth.attacks import BuildError

    cfg = BuildConfig(data=str(shared_dir / "data"), out="x", sources=[SourceSpec("vctk-vc", (1, 0, 0), 1)])
    with pytest.raises(BuildError, match="never train"):
        plan(cfg)


def test_cli_synth_and_shortcut_report(shared_dir, tmp_path, capsys):
    _require(["espeak-en-us", "voc-world", "voc-griffin-lim", "festival-ked"])
    out = tmp_path / "eng"
    rc = main(["data", "synth", "--data", str(shared_dir / "data"), "--out", str(out), "--speakers", "1", "0", "1",
               "--utterances", "3", "--cohort", "0", "--fsdd", "0", "--workers", "1", "--no-progress",
               "--attacks", "train=espeak-en-us,voc-world,voc-griffin-lim", "eval=festival-ked,voc-griffin-lim"])
    assert rc == 0
    recs = read_manifest(out / "manifest.jsonl")
    assert len(recs) == 18
    train = asvspoof2019.load_split(out, "train")
    ev = asvspoof2019.load_split(out, "eval")
    assert {r.speaker for r in train}.isdisjoint({r.speaker for r in ev})
    by_utt = {r.utt: r for r in recs}
    assert [by_utt[r.utt].codec for r in ev] == [r.codec for r in ev]  # protocol and manifest agree
    capsys.readouterr()
    assert main(["data", "shortcuts", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"train", "eval"} and all(0 <= v["logistic_eer"] <= 1 for v in report.values())


def test_stream_yields_the_planned_examples_in_memory(shared_dir):
    from voxguard.data.synth.build import stream

    _require(["voc-griffin-lim"])
    cfg = _tiny(shared_dir, "unused", attacks={"train": ["voc-griffin-lim"], "eval": ["voc-griffin-lim"]})
    it = stream(cfg, "train", seed=0)
    seen = [next(it) for _ in range(4)]
    planned = {j.utt for j in plan(cfg) if j.split == "train"}
    assert {rec.utt for _, rec in seen} <= planned and len({rec.utt for _, rec in seen}) == 4
    for audio, rec in seen:
        assert audio.dtype == np.float32 and audio.size > 16000 and rec.label in ("bonafide", "spoof")
