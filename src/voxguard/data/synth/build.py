"""Build the voxguard-mini spoofing benchmark in ASVspoof 2019 LA layout.

From a bona fide manifest (default: ``librispeech-mini`` of the shared data), speakers are split
disjointly into train / dev / eval; every chosen bona fide utterance is copied and spoofed by
``spoofs_per_utt`` attacks of its split (text from its transcript, or its audio for vocoders).
Every output — bona fide and spoof alike — is cut to a random 3.5–6 s and scaled to the same
RMS level, so neither duration nor loudness tells the classes apart. In the channel splits
(default: eval) each file also goes through a codec (``-`` none, mp3, opus, μ-law 8 kHz),
balanced over the two classes and recorded in the manifest and in protocol column 3.

Generation is parallel (processes), resumable (finished files are skipped) and deterministic
for a seed: every random choice derives from ``(seed, output id)``.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import zlib
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
import soundfile as sf

from voxguard.audio.augment import apply_codec
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
from voxguard.data.synth.tts import SynthFailed

SPLITS = ("train", "dev", "eval")

_TAG = {"train": "T", "dev": "D", "eval": "E"}
SAMPLE_RATE = 16000


@dataclass
class BuildConfig:
    """What to build (all fields are recorded in ``build_config.json``)."""

    data: str
    out: str
    corpus: str = "librispeech-mini"
    speakers: tuple[int, int, int] = (6, 6, 6)
    utterances: int = 15
    spoofs_per_utt: int = 1
    attacks: dict[str, list[str]] = field(
        default_factory=lambda: {s: attacks_for(s) for s in SPLITS}
    )
    codecs: tuple[str, ...] = ("-", "mp3", "opus", "ulaw8k")
    codec_splits: tuple[str, ...] = ("eval",)
    rms_db: float = -26.0
    duration: tuple[float, float] = (3.5, 6.0)
    max_words: int = 24
    seed: int = 0
    workers: int = 2


@dataclass(frozen=True)
class Job:
    """One output file to make."""

    utt: str
    split: str
    speaker: str
    label: str
    attack: str
    codec: str
    source: str  # absolute path of the bona fide source audio
    source_utt: str
    text: str
    seed: int


def _seed(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def plan(cfg: BuildConfig) -> list[Job]:
    """The deterministic list of output files for ``cfg`` (no audio is touched)."""
    for ids in cfg.attacks.values():
        for a in ids:
            get_attack(a)
    data = Path(cfg.data)
    manifest = data / "manifest.jsonl" if data.is_dir() else data
    records = [
        r
        for r in read_manifest(manifest, default_label="bonafide")  # real speech, unlabelled
        if r.corpus in (cfg.corpus, None)
    ]
    by_spk: dict[str, list[Utterance]] = {}
    for r in records:
        by_spk.setdefault(r.speaker, []).append(r)
    speakers = sorted(by_spk)
    need = sum(cfg.speakers)
    if need > len(speakers):
        raise BuildError(
            f"{manifest}: {len(speakers)} speakers in corpus {cfg.corpus!r}, {need} requested"
        )
    rng = np.random.default_rng(cfg.seed)
    order = [speakers[i] for i in rng.permutation(len(speakers))]
    jobs: list[Job] = []
    start = 0
    for split, n_spk in zip(SPLITS, cfg.speakers, strict=True):
        split_spk, start = order[start : start + n_spk], start + n_spk
        if n_spk == 0:
            continue
        attack_ids = cfg.attacks.get(split) or []
        if cfg.spoofs_per_utt and not attack_ids:
            raise BuildError(
                f"split {split!r} has no attacks; give some with --attacks {split}=A01,..."
            )
        sources = []
        for spk in split_spk:
            utts = sorted(by_spk[spk], key=lambda r: r.utt)
            pick = rng.choice(len(utts), size=min(cfg.utterances, len(utts)), replace=False)
            sources += [utts[i] for i in sorted(pick)]
        jobs += _split_jobs(cfg, split, sources, attack_ids, manifest.parent, rng)
    return jobs


def _split_jobs(
    cfg: BuildConfig,
    split: str,
    sources: list[Utterance],
    attack_ids: list[str],
    root: Path,
    rng: np.random.Generator,
) -> list[Job]:
    n_spoof = len(sources) * cfg.spoofs_per_utt
    cycle = [attack_ids[i % len(attack_ids)] for i in range(n_spoof)]
    cycle = [cycle[i] for i in rng.permutation(n_spoof)] if n_spoof else []
    items = []
    for i, src in enumerate(sources):
        text = " ".join((src.text or "").lower().split()[: cfg.max_words])
        items.append((BONAFIDE, NO_ATTACK, src, text))
        for k in range(cfg.spoofs_per_utt):
            items.append((SPOOF, cycle[i * cfg.spoofs_per_utt + k], src, text))
    codecs = ["-"] * len(items)
    if split in cfg.codec_splits:
        for label in (BONAFIDE, SPOOF):  # balanced within each class
            idx = [j for j, it in enumerate(items) if it[0] == label]
            for n, j in enumerate(rng.permutation(idx)):
                codecs[j] = cfg.codecs[n % len(cfg.codecs)]
    order = rng.permutation(len(items))  # ids do not reveal the label
    jobs = []
    for n, j in enumerate(order, 1):
        label, attack, src, text = items[j]
        utt = f"VGM_{_TAG[split]}_{n:06d}"
        jobs.append(
            Job(
                utt,
                split,
                src.speaker,
                label,
                attack,
                codecs[j],
                str(src.resolve(root)),
                src.utt,
                text,
                _seed(cfg.seed, utt),
            )
        )
    return jobs


def audio_path(out: str | PathLike, job: Job) -> Path:
    """Where ``job``'s flac goes (the 2019 LA layout)."""
    return asvspoof2019.audio_path(out, job.split, job.utt)


def render(
    job: Job, rms_db: float = -26.0, duration: tuple[float, float] = (3.5, 6.0)
) -> np.ndarray:
    """Make ``job``'s audio: generate, cut to a random duration, level to ``rms_db``, codec."""
    wav, _ = load_audio(job.source, SAMPLE_RATE)
    y = wav if job.label == BONAFIDE else get_attack(job.attack).generate(job.text, wav, job.seed)
    rng = np.random.default_rng(job.seed)
    n = int(rng.uniform(*duration) * SAMPLE_RATE)
    y = np.asarray(y[:n], dtype=np.float64)
    rms = float(np.sqrt(np.mean(y**2))) if y.size else 0.0
    if rms > 0:
        y *= 10 ** (rms_db / 20) / rms
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 0.99:
        y *= 0.99 / peak
    return apply_codec(y.astype(np.float32), job.codec, SAMPLE_RATE)


def _work(args: tuple[Job, str, float, tuple[float, float]]) -> str:
    job, out, rms_db, duration = args
    path = audio_path(out, job)
    if path.is_file():
        return job.utt
    tmp = path.with_name(f".{path.stem}.tmp.flac")
    try:
        save_audio(tmp, render(job, rms_db, duration), SAMPLE_RATE)
    except Exception as exc:
        what = "bonafide copy" if job.attack == NO_ATTACK else f"attack {job.attack}"
        raise SynthFailed(f"{job.utt} ({what} of {job.source_utt}): {exc}") from exc
    os.replace(tmp, path)
    return job.utt


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def build(cfg: BuildConfig, progress: bool = True) -> list[Utterance]:
    """Generate the benchmark into ``cfg.out``; returns its manifest records.

    Writes ``ASVspoof2019_LA_{split}/flac/*.flac``, the three protocols under
    ``ASVspoof2019_LA_cm_protocols/``, ``manifest.jsonl`` (paths relative to ``cfg.out``),
    ``attacks.json`` and ``build_config.json``. Files that already exist are not regenerated.

    Raises:
        SynthToolMissing: an engine of a requested attack is not installed.
        BuildError: the corpus has too few speakers or an attack id is unknown.
        SynthFailed: a generator failed on one file (the message names it).
    """
    jobs = plan(cfg)
    used = sorted({j.attack for j in jobs if j.attack != NO_ATTACK})
    for a in used:
        get_attack(a).check()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    args = [(j, str(out), cfg.rms_db, cfg.duration) for j in jobs]
    todo = [a for a in args if not audio_path(out, a[0]).is_file()]
    from tqdm import tqdm

    bar = tqdm(
        total=len(jobs),
        initial=len(jobs) - len(todo),
        desc="voxguard-mini",
        unit="file",
        disable=not progress,
    )
    if cfg.workers <= 1:
        _init_worker()
        for a in todo:
            _work(a)
            bar.update()
    else:
        with mp.get_context("spawn").Pool(cfg.workers, initializer=_init_worker) as pool:
            for _ in pool.imap_unordered(_work, todo, chunksize=1):
                bar.update()
    bar.close()
    return _write_index(cfg, jobs, out, used)


def _write_index(cfg: BuildConfig, jobs: list[Job], out: Path, used: list[str]) -> list[Utterance]:
    records = []
    for j in jobs:
        path = audio_path(out, j)
        info = sf.info(str(path))
        records.append(
            Utterance(
                utt=j.utt,
                path=path.relative_to(out).as_posix(),
                speaker=j.speaker,
                label=j.label,
                attack=j.attack,
                codec=j.codec,
                duration=round(info.frames / info.samplerate, 4),
                sample_rate=info.samplerate,
                split=j.split,
                corpus="voxguard-mini",
                text=j.text,
                extra={"source_utt": j.source_utt},
            )
        )
    for split in SPLITS:
        part = [r for r in records if r.split == split]
        if part:
            asvspoof2019.write_protocol(
                sorted(part, key=lambda r: r.utt), asvspoof2019.protocol_path(out, split)
            )
    write_manifest(records, out / "manifest.jsonl")
    (out / "attacks.json").write_text(
        json.dumps([asdict(ATTACKS[a]) for a in used], indent=1) + "\n"
    )
    (out / "build_config.json").write_text(json.dumps(asdict(cfg), indent=1) + "\n")
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
