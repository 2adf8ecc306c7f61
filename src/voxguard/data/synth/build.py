"""The spoof data engine: plan, render and write a CM benchmark in ASVspoof 2019 LA layout.

Bona fide sources come from the shared real speech (``librispeech-mini`` speakers split
disjointly into train / dev / eval, ``librispeech-cohort`` and ``fsdd`` speakers likewise; the
validation-only corpora are never read). Every bona fide utterance gets ``spoofs_per_utt``
spoofs of its split's attacks (:mod:`voxguard.data.synth.attacks`): a ``vocoder`` attack
re-synthesises that very utterance (a matched pair: same speaker, words and channel), a ``tts``
attack speaks its transcript, a ``partial`` attack splices a spoofed 1–2.5 s segment into it at
the start, middle or end (boundaries in the manifest).

Every output, bona fide or spoof, goes through the same shortcut removal
(:func:`voxguard.data.synth.channels.normalise`) and, with probability ``p_channel``, one channel
(:data:`voxguard.data.synth.channels.CHANNELS`), balanced over the two classes in every split.

Generation is parallel (processes), resumable (finished files are skipped) and deterministic
for a seed: every random choice derives from ``(seed, output id)``. :func:`stream` yields the
same examples on the fly for a trainer without writing files.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
import soundfile as sf

from voxguard.audio.io import load_audio, save_audio
from voxguard.data.manifest import (
    BONAFIDE,
    NO_ATTACK,
    SPOOF,
    Utterance,
    read_manifest,
    write_manifest,
)
from voxguard.data.protocols import asvspoof2019
from voxguard.data.synth.attacks import ATTACKS, BuildError, attacks_for, get_attack
from voxguard.data.synth.channels import CHANNELS, apply_channel, normalise

SPLITS = ("train", "dev", "eval")
_TAG = {"train": "T", "dev": "D", "eval": "E"}
SAMPLE_RATE = 16000
VALIDATION_ONLY = ("speecht5-hifigan", "vctk-vc", "ami-excerpts", "librispeech-test-other")

# Relative draw weight of an attack inside its kind: slow engines are drawn less often so the
# default build stays within minutes per thousand files (Kokoro costs ~3 s per utterance).
_ENGINE_WEIGHT = {"kokoro": 0.4, "festival": 0.7, "mlsa": 0.7}


@dataclass
class SourceSpec:
    """Bona fide speakers of one corpus per split (disjoint) and utterances per speaker."""

    corpus: str
    speakers: tuple[int, int, int]  # train, dev, eval; -1 = all remaining speakers
    utterances: int


@dataclass
class BuildConfig:
    """What to build (all fields are recorded in ``build_config.json``)."""

    data: str
    out: str
    sources: list[SourceSpec] = field(
        default_factory=lambda: [
            SourceSpec("librispeech-mini", (18, 4, 6), 16),
            SourceSpec("librispeech-cohort", (-1, 0, 0), 1),
            SourceSpec("fsdd", (4, 1, 1), 25),
        ]
    )
    spoofs_per_utt: int = 2
    p_vocoder: float = 0.5  # share of spoofs that are matched vocoded copies
    p_partial: float = 0.1  # share of spoofs that are partial spoofs (long sources only)
    attacks: dict[str, list[str]] = field(default_factory=lambda: {s: attacks_for(s) for s in SPLITS})
    channels: tuple[str, ...] = tuple(c for c in CHANNELS if c != "-")
    p_channel: float = 0.5
    max_duration: float = 6.0
    max_words: int = 24
    seed: int = 0
    workers: int = 2
    # LibriSpeech speaker ids are global and every librispeech-mini speaker is also a
    # librispeech-cohort speaker, so a speaker the mini corpus puts in dev / eval could be in
    # train through the cohort. False (the default since 2026-12-03) leaves such train sources
    # out; True reproduces the builds made before (engine-l: 10 of its 251 cohort train
    # utterances, and their spoofs, were of dev / eval speakers).
    cross_corpus_speakers: bool = False


@dataclass(frozen=True)
class Job:
    """One output file to make."""

    utt: str
    split: str
    speaker: str
    corpus: str
    label: str
    attack: str
    inner_attack: str  # the attack that made a partial spoof's segment ("-" otherwise)
    channel: str
    source: str  # path of the bona fide source audio
    source_utt: str
    text: str
    seed: int


def _seed(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


_DIGITS = "zero one two three four five six seven eight nine".split()


def _text_for(src: Utterance, spare: list[str], rng: np.random.Generator, max_words: int) -> str:
    """What a TTS attack says for ``src``: its transcript; digits as words; or, for corpora
    without transcripts (the cohort), another LibriSpeech transcript of about its length."""
    text = (src.text or "").strip()
    if text.isdigit():
        return " ".join(_DIGITS[int(c)] for c in text)
    if not text and spare:
        text = spare[int(rng.integers(len(spare)))]
        n_words = max(3, int(2.6 * (src.duration or 4.0)))
        return " ".join(text.lower().split()[:n_words])
    return " ".join(text.lower().split()[:max_words])


def _manifest_path(cfg: BuildConfig) -> Path:
    """The bona fide manifest ``cfg.data`` names: a manifest file, or a folder holding manifest.jsonl."""
    data = Path(cfg.data)
    return data / "manifest.jsonl" if data.is_dir() else data


def _sources(cfg: BuildConfig, rng: np.random.Generator) -> dict[str, list]:
    manifest = _manifest_path(cfg)
    records = read_manifest(manifest, default_label="bonafide")  # real speech, unlabelled
    out: dict[str, list[Utterance]] = {s: [] for s in SPLITS}
    for spec in cfg.sources:
        if spec.corpus in VALIDATION_ONLY:
            raise BuildError(f"{spec.corpus} is a validation/test corpus: never train on it")
        by_spk: dict[str, list[Utterance]] = {}
        for r in records:
            if r.corpus == spec.corpus:
                by_spk.setdefault(r.speaker, []).append(r)
        speakers = sorted(by_spk)
        want = [n for n in spec.speakers if n >= 0]
        if sum(want) > len(speakers):
            raise BuildError(f"{manifest}: {len(speakers)} speakers in {spec.corpus!r}, {sum(want)} requested")
        order = [speakers[i] for i in rng.permutation(len(speakers))]
        rest = len(order) - sum(want)  # what a -1 split takes
        start = 0
        for split, n in zip(SPLITS, spec.speakers, strict=True):
            n = rest if n < 0 else n
            for spk in order[start : start + n]:
                utts = sorted(by_spk[spk], key=lambda r: r.utt)
                pick = rng.choice(len(utts), size=min(spec.utterances, len(utts)), replace=False)
                out[split] += [(utts[i], manifest.parent) for i in sorted(pick)]
            start += n
    if not cfg.cross_corpus_speakers:
        held = {src.speaker for split in ("dev", "eval") for src, _ in out[split]}
        out["train"] = [(src, root) for src, root in out["train"] if src.speaker not in held]
    return out


def _transcripts(cfg: BuildConfig) -> list[str]:
    """Every transcript of the bona fide manifest outside the validation / test corpora: the texts
    a TTS attack reads for untranscribed sources when no train source lends one. Builds with train
    sources never call this, so their plans do not change."""
    manifest = _manifest_path(cfg)
    records = read_manifest(manifest, default_label="bonafide")
    return [r.text for r in records if r.text and not r.text.isdigit() and r.corpus not in VALIDATION_ONLY]


def _draw_attack(ids: list[str], rng: np.random.Generator) -> str:
    w = np.array([_ENGINE_WEIGHT.get(ATTACKS[i].engine, 1.0) for i in ids])
    return ids[int(rng.choice(len(ids), p=w / w.sum()))]


def plan(cfg: BuildConfig) -> list[Job]:
    """The deterministic list of output files for ``cfg`` (no audio is touched)."""
    for ids in cfg.attacks.values():
        for a in ids:
            get_attack(a)
    rng = np.random.default_rng(cfg.seed)
    jobs: list[Job] = []
    sources_by_split = _sources(cfg, rng)
    spare = [s.text for s, _ in sources_by_split["train"] if s.text and not s.text.isdigit()]
    if not spare:  # a build without train sources (a dev-only supplement): the manifest's transcripts
        spare = _transcripts(cfg)
    for split, sources in sources_by_split.items():
        ids = [get_attack(a).id for a in cfg.attacks.get(split) or []]
        by_kind = {k: [a for a in ids if ATTACKS[a].kind == k] for k in ("tts", "vocoder", "partial")}
        inner = by_kind["tts"] + by_kind["vocoder"]
        if sources and cfg.spoofs_per_utt and not inner:
            raise BuildError(f"split {split!r} has no attacks; give some with --attacks {split}=ID,...")
        items = []
        for src, root in sources:
            text = _text_for(src, spare, rng, cfg.max_words)
            items.append((BONAFIDE, NO_ATTACK, NO_ATTACK, src, root, text))
            for _ in range(cfg.spoofs_per_utt):
                u = rng.random()
                long_enough = (src.duration or 0) >= 4.0
                if by_kind["partial"] and long_enough and u < cfg.p_partial:
                    kind = "partial"
                elif by_kind["vocoder"] and (u < cfg.p_partial + cfg.p_vocoder or not by_kind["tts"]):
                    kind = "vocoder"
                else:
                    kind = "tts" if by_kind["tts"] else "vocoder"
                if kind == "partial":
                    attack, inner_attack = _draw_attack(by_kind["partial"], rng), _draw_attack(inner, rng)
                else:
                    attack, inner_attack = _draw_attack(by_kind[kind], rng), NO_ATTACK
                items.append((SPOOF, attack, inner_attack, src, root, text))
        channels = ["-"] * len(items)
        for label in (BONAFIDE, SPOOF):  # balanced within each class
            idx = [j for j, it in enumerate(items) if it[0] == label]
            n_chan = int(round(cfg.p_channel * len(idx)))
            for n, j in enumerate(rng.permutation(idx)[:n_chan]):
                channels[j] = cfg.channels[n % len(cfg.channels)]
        order = rng.permutation(len(items))  # ids do not reveal the label
        for n, j in enumerate(order, 1):
            label, attack, inner_attack, src, root, text = items[j]
            utt = f"VGE_{_TAG[split]}_{n:06d}"
            jobs.append(Job(utt, split, src.speaker, src.corpus or "-", label, attack, inner_attack,
                            channels[j], str(src.resolve(root)), src.utt, text, _seed(cfg.seed, utt)))
    return jobs


def audio_path(out: str | PathLike, job: Job) -> Path:
    """Where ``job``'s flac goes (the 2019 LA layout)."""
    return asvspoof2019.audio_path(out, job.split, job.utt)


def _splice(job: Job, wav: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int]]:
    """Bona fide ``wav`` with a 1–2.5 s spoofed segment at its start, middle or end."""
    seg_len = int(rng.uniform(1.0, 2.5) * SAMPLE_RATE)
    seg_len = min(seg_len, len(wav) // 2)
    where = ("start", "middle", "end")[int(rng.integers(3))]
    start = {"start": 0, "middle": (len(wav) - seg_len) // 2, "end": len(wav) - seg_len}[where]
    inner = get_attack(job.inner_attack)
    if inner.kind == "vocoder":
        fake = inner.generate("", wav, job.seed)[start : start + seg_len]
    else:
        words = job.text.split()
        k = max(1, len(words) * seg_len // max(len(wav), 1))
        j = int(rng.integers(max(len(words) - k, 0) + 1))
        fake = inner.generate(" ".join(words[j : j + k]) or "hello", wav, job.seed)
        fake = fake[: seg_len] if len(fake) >= seg_len else np.pad(fake, (0, seg_len - len(fake)))
    ref = wav[max(0, start - SAMPLE_RATE) : start + seg_len + SAMPLE_RATE]
    r_ref, r_fake = np.sqrt(np.mean(ref**2)) + 1e-9, np.sqrt(np.mean(fake**2)) + 1e-9
    out = wav.copy()
    out[start : start + seg_len] = fake * (r_ref / r_fake)
    return out, (start, start + seg_len)


def render(job: Job, max_duration: float = 6.0, babble: list[np.ndarray] | None = None) -> tuple[np.ndarray, dict]:
    """Make ``job``'s audio and its extra manifest fields (channel, partial-spoof segment)."""
    wav, _ = load_audio(job.source, SAMPLE_RATE)
    rng = np.random.default_rng(job.seed)
    extra: dict = {"source_utt": job.source_utt, "channel": job.channel}
    segment = None
    if job.label == BONAFIDE:
        y = wav
    elif ATTACKS[job.attack].kind == "partial":
        y, segment = _splice(job, wav[: int(max_duration * SAMPLE_RATE)], rng)
        extra["inner_attack"] = job.inner_attack
    else:
        y = get_attack(job.attack).generate(job.text, wav, job.seed)
    max_len = None if segment else int(max_duration * SAMPLE_RATE)
    if segment:  # keep the whole spliced signal: trimming may not cut into the segment
        y, shift = normalise(y, rng, None)
        # trimming may cut into the segment's leading silence: its boundaries stay inside the signal
        a, b = (min(max(t + shift, 0), len(y)) for t in segment)
        extra["segment"] = [round(a / SAMPLE_RATE, 3), round(b / SAMPLE_RATE, 3)]
    else:
        y, _ = normalise(y, rng, max_len)
    if job.channel != "-":
        n_before = len(y)
        y = apply_channel(y, job.channel, rng, babble)
        if "segment" in extra and len(y) != n_before:  # speed change: boundaries move with it
            extra["segment"] = [round(t * len(y) / n_before, 3) for t in extra["segment"]]
    return y, extra


_BABBLE: list[np.ndarray] = []


def _work(args: tuple[Job, str, float]) -> tuple[str, dict]:
    job, out, max_duration = args
    path = audio_path(out, job)
    side = path.with_suffix(".json")
    if path.is_file() and side.is_file():
        return job.utt, json.loads(side.read_text())
    tmp = path.with_name(f".{path.stem}.tmp.flac")
    try:
        y, extra = render(job, max_duration, _BABBLE)
        save_audio(tmp, y, SAMPLE_RATE)
    except Exception as exc:  # noqa: BLE001 - one failed generator must not stop the build
        what = "bonafide copy" if job.attack == NO_ATTACK else f"attack {job.attack}"
        tmp.unlink(missing_ok=True)
        return job.utt, {"error": f"{job.utt} ({what} of {job.source_utt}): {exc}"}
    side.write_text(json.dumps(extra))
    os.replace(tmp, path)
    return job.utt, extra


def _init_worker(babble_files: list[str]) -> None:
    import torch

    torch.set_num_threads(1)
    _BABBLE.clear()
    for f in babble_files:
        _BABBLE.append(load_audio(f, SAMPLE_RATE)[0])


def _babble_files(cfg: BuildConfig) -> list[str]:
    """Cohort utterances used to make babble (other speakers than any split's bona fide)."""
    manifest = _manifest_path(cfg)
    recs = [
        r
        for r in read_manifest(manifest, default_label="bonafide")
        if r.corpus == "librispeech-cohort"
    ]
    return [str(r.resolve(manifest.parent)) for r in recs[:: max(1, len(recs) // 24)]][:24]


def build(cfg: BuildConfig, progress: bool = True, allow_missing: bool = False) -> list[Utterance]:
    """Generate the benchmark into ``cfg.out``; returns its manifest records.

    Writes ``ASVspoof2019_LA_{split}/flac/*.flac`` (+ a ``.json`` sidecar per file),
    the three protocols under ``ASVspoof2019_LA_cm_protocols/``, ``manifest.jsonl`` (paths
    relative to ``cfg.out``), ``attacks.json`` and ``build_config.json``. Files that already
    exist are not regenerated.

    Raises:
        SynthToolMissing: an engine of a requested attack is not installed.
        BuildError: a corpus has too few speakers or an attack id is unknown.
    With ``allow_missing``, attacks whose engine is not installed yet fail per file instead of
    up front. A generator that fails on one file leaves that file out (``failed.jsonl`` names it and
    why); a re-run retries it.
    """
    jobs = plan(cfg)
    used = sorted({a for j in jobs for a in (j.attack, j.inner_attack) if a != NO_ATTACK})
    for a in used:
        try:
            get_attack(a).check()
        except Exception:
            if not allow_missing:
                raise
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "build_config.json").write_text(json.dumps(asdict(cfg), indent=1) + "\n")
    args = [(j, str(out), cfg.max_duration) for j in jobs]
    from tqdm import tqdm

    extras: dict[str, dict] = {}
    bar = tqdm(total=len(jobs), desc="spoof engine", unit="file", disable=not progress)
    babble = _babble_files(cfg)
    if cfg.workers <= 1:
        _init_worker(babble)
        for a in args:
            utt, extra = _work(a)
            extras[utt] = extra
            bar.update()
    else:
        ctx = mp.get_context("spawn")
        with ctx.Pool(cfg.workers, initializer=_init_worker, initargs=(babble,)) as pool:
            for utt, extra in pool.imap_unordered(_work, args, chunksize=1):
                extras[utt] = extra
                bar.update()
    bar.close()
    failed = {u: e["error"] for u, e in extras.items() if "error" in e}
    with (out / "failed.jsonl").open("w", encoding="utf-8") as f:
        for utt, err in sorted(failed.items()):
            f.write(json.dumps({"utt": utt, "error": err}) + "\n")
    if failed:
        import sys

        print(f"{len(failed)} file(s) failed and are left out (listed in {out / 'failed.jsonl'}; "
              "re-run to retry them); first: " + next(iter(sorted(failed.values()))), file=sys.stderr)
    return _write_index(cfg, [j for j in jobs if j.utt not in failed], out, used, extras)


def stream(cfg: BuildConfig, split: str = "train", seed: int = 0) -> Iterator[tuple[np.ndarray, Utterance]]:
    """Yield ``(audio, record)`` of ``split`` on the fly, in a seeded random order, forever.

    The same plan as :func:`build`, rendered in memory: a trainer can draw fresh examples
    without writing the benchmark to disk. An example whose generator fails is skipped.
    """
    jobs = [j for j in plan(cfg) if j.split == split]
    if not jobs:
        raise BuildError(f"split {split!r} has no examples in this configuration")
    _init_worker(_babble_files(cfg))
    rng = np.random.default_rng(seed)
    while True:
        for i in rng.permutation(len(jobs)):
            job = jobs[i]
            try:
                y, extra = render(job, cfg.max_duration, _BABBLE)
            except Exception:  # noqa: BLE001 - a failed generator skips one example
                continue
            yield y, _record(job, "", len(y) / SAMPLE_RATE, extra)


def _record(job: Job, path: str, duration: float, extra: dict) -> Utterance:
    return Utterance(
        utt=job.utt, path=path, speaker=job.speaker, label=job.label, attack=job.attack,
        codec=job.channel, duration=round(duration, 4), sample_rate=SAMPLE_RATE, split=job.split,
        corpus="voxguard-engine", text=job.text,
        extra={"source_corpus": job.corpus, **extra},
    )


def _write_index(cfg: BuildConfig, jobs: list[Job], out: Path, used: list[str],
                 extras: dict[str, dict]) -> list[Utterance]:
    records = []
    for j in jobs:
        path = audio_path(out, j)
        info = sf.info(str(path))
        records.append(_record(j, path.relative_to(out).as_posix(), info.frames / info.samplerate,
                               extras.get(j.utt, {})))
    for split in SPLITS:
        part = [r for r in records if r.split == split]
        if part:
            asvspoof2019.write_protocol(sorted(part, key=lambda r: r.utt), asvspoof2019.protocol_path(out, split))
    write_manifest(records, out / "manifest.jsonl")
    (out / "attacks.json").write_text(json.dumps([asdict(ATTACKS[a]) for a in used], indent=1) + "\n")
    return records


def default_data_dir() -> Path | None:
    """The shared real-speech folder ``../shared/data`` beside the repository, if present.

    Looked for from the working directory upwards, then from the installed package upwards.
    """
    starts = [Path.cwd().resolve(), Path(__file__).resolve()]
    for start in starts:
        for parent in [start, *start.parents]:
            cand = parent.parent / "shared" / "data"
            if (cand / "manifest.jsonl").is_file():
                return cand
    return None
