"""``voxguard data``: build spoofing benchmarks with the spoof data engine and manifests of real corpora.

voxguard data synth --out data/voxguard-engine [--data ../shared/data] [--speakers 18 4 6]
voxguard data manifest asvspoof2019 LA_ROOT --split train --out train.jsonl
voxguard data info MANIFEST.jsonl
voxguard data attacks [--json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from voxguard.cli._files import nonnegative_int, positive_int

FORMATS = (
    "asvspoof2019",
    "asvspoof2021-la",
    "asvspoof2021-df",
    "asvspoof5",
    "in-the-wild",
    "voxceleb",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data",
        help="build spoofing benchmarks and corpus manifests",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    s = dsub.add_parser(
        "synth", help="generate a spoofing benchmark with the spoof data engine (ASVspoof 2019 LA layout)"
    )
    s.add_argument("--out", required=True, help="output folder (created; existing files are kept)")
    s.add_argument(
        "--data",
        help="bona fide manifest or folder holding manifest.jsonl "
        "(default: ../shared/data beside the repository)",
    )
    s.add_argument(
        "--speakers",
        type=int,
        nargs=3,
        default=(18, 4, 6),
        metavar=("TRAIN", "DEV", "EVAL"),
        help="librispeech-mini speakers per split (disjoint)",
    )
    s.add_argument("--utterances", type=positive_int, default=16, help="librispeech-mini utterances per speaker")
    s.add_argument("--cohort", type=nonnegative_int, default=251, help="librispeech-cohort speakers in train (0: none)")
    s.add_argument(
        "--fsdd", type=nonnegative_int, default=25, help="fsdd utterances per speaker (4/1/1 speakers; 0: none)"
    )
    s.add_argument(
        "--spoofs-per-utt", type=positive_int, default=2, help="spoofed files made from each bona fide one"
    )
    s.add_argument("--p-vocoder", type=float, default=0.5, help="share of spoofs that are vocoded copies")
    s.add_argument("--p-partial", type=float, default=0.1, help="share of spoofs that are partial spoofs")
    s.add_argument(
        "--attacks",
        nargs="*",
        default=[],
        metavar="SPLIT=ID,ID",
        help="override a split's attack ids (see `voxguard data attacks`)",
    )
    s.add_argument(
        "--channels",
        default="mp3,opus,ulaw8k,telephone,noise,babble,reverb,gain-clip,speed",
        help="channels applied (to both classes) in every split",
    )
    s.add_argument("--p-channel", type=float, default=0.5, help="share of files given a channel")
    s.add_argument("--seed", type=nonnegative_int, default=0)
    s.add_argument(
        "--cross-corpus-speakers",
        action="store_true",
        help="keep train sources of speakers another corpus puts in dev/eval (every "
        "librispeech-mini speaker is also a cohort speaker); only to reproduce builds made "
        "before 2026-12-03, such as engine-l",
    )
    s.add_argument("--workers", type=positive_int, default=2, help="generator processes")
    s.add_argument("--no-progress", action="store_true")
    s.add_argument(
        "--allow-missing",
        action="store_true",
        help="leave out (and list in failed.jsonl) files whose engine is missing; a re-run makes them",
    )
    s.set_defaults(func=run_synth)

    m = dsub.add_parser("manifest", help="write a JSONL manifest from a corpus' protocol file")
    m.add_argument("format", choices=FORMATS)
    m.add_argument(
        "source", help="protocol / key / meta file (asvspoof2019: the LA root; voxceleb: wav/)"
    )
    m.add_argument("--out", required=True, help="manifest to write")
    m.add_argument("--split", help="asvspoof2019: train|dev|eval; others: recorded as the split")
    m.add_argument("--audio-root", help="folder holding the audio (asvspoof2021/5, in-the-wild)")
    m.set_defaults(func=run_manifest)

    i = dsub.add_parser("info", help="counts per split, label, attack and codec of a manifest")
    i.add_argument("manifest")
    i.set_defaults(func=run_info)

    sc = dsub.add_parser(
        "shortcuts",
        help="EER of a trivial classifier (duration, silence, level, roll-off) per split of a benchmark",
    )
    sc.add_argument("folder", help="a benchmark built by `voxguard data synth` (holds manifest.jsonl)")
    sc.add_argument("--json", action="store_true")
    sc.set_defaults(func=run_shortcuts)

    v = dsub.add_parser(
        "vocode",
        help="copy-synthesise audio with a neural vocoder trained here (matched vocoded spoofs)",
    )
    v.add_argument("inputs", nargs="+", help="audio files (any rate; mono mixdown)")
    v.add_argument("--out", required=True, help="output folder: <stem>.<vocoder>.flac at 16 kHz")
    v.add_argument("--vocoder", default="hifigan_s", help="shipped vocoder name or a saved folder")
    v.add_argument("--no-progress", action="store_true")
    v.set_defaults(func=run_vocode)

    a = dsub.add_parser("attacks", help="the spoof data engine's attack catalogue")
    a.add_argument("--json", action="store_true", help="JSON rows instead of a Markdown table")
    a.set_defaults(func=run_attacks)


def run_synth(args: argparse.Namespace) -> int:
    import time

    from voxguard.data.manifest import summarize
    from voxguard.data.synth.build import SPLITS, BuildConfig, SourceSpec, build, default_data_dir
    from voxguard.data.synth.channels import CHANNELS
    from voxguard.errors import VoxguardError

    data = args.data or default_data_dir()
    if data is None:
        raise VoxguardError("no bona fide data found: pass --data DIR (a folder with manifest.jsonl)")
    sources = [SourceSpec("librispeech-mini", tuple(args.speakers), args.utterances)]
    if args.cohort:
        sources.append(SourceSpec("librispeech-cohort", (args.cohort, 0, 0), 1))
    if args.fsdd:
        sources.append(SourceSpec("fsdd", (4, 1, 1), args.fsdd))
    channels = tuple(c for c in args.channels.split(",") if c)
    bad = [c for c in channels if c not in CHANNELS]
    if bad:
        raise VoxguardError(f"unknown channel(s) {', '.join(bad)}; known: {', '.join(CHANNELS)}")
    cfg = BuildConfig(
        data=str(data), out=args.out, sources=sources, spoofs_per_utt=args.spoofs_per_utt,
        p_vocoder=args.p_vocoder, p_partial=args.p_partial, channels=channels or ("-",),
        p_channel=args.p_channel if channels else 0.0, seed=args.seed, workers=args.workers,
        cross_corpus_speakers=args.cross_corpus_speakers,
    )
    for item in args.attacks:
        split, _, ids = item.partition("=")
        if split not in SPLITS or not ids:
            raise VoxguardError(f"--attacks wants SPLIT=ID,ID with SPLIT in {', '.join(SPLITS)}, got {item!r}")
        cfg.attacks[split] = ids.split(",")
    t0, c0 = time.time(), time.process_time()
    records = build(cfg, progress=not args.no_progress, allow_missing=args.allow_missing)
    print(json.dumps(summarize(records)))
    print(
        f"wrote {len(records)} files, protocols and manifest.jsonl under {Path(args.out)} "
        f"({time.time() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU in this process)"
    )
    return 0


def run_manifest(args: argparse.Namespace) -> int:
    from voxguard.data.manifest import summarize, write_manifest
    from voxguard.data.protocols import asvspoof5, asvspoof2019, asvspoof2021, in_the_wild, voxceleb

    fmt, src = args.format, args.source
    if fmt == "asvspoof2019":
        if not args.split:
            raise SystemExit("voxguard data manifest: asvspoof2019 needs --split train|dev|eval")
        records = asvspoof2019.load_split(src, args.split)
    elif fmt.startswith("asvspoof2021"):
        records = asvspoof2021.read_trial_metadata(
            src, track=fmt[-2:].upper(), audio_root=args.audio_root
        )
    elif fmt == "asvspoof5":
        records = asvspoof5.read_protocol(src, audio_dir=args.audio_root, split=args.split)
    elif fmt == "in-the-wild":
        records = in_the_wild.read_meta(src, audio_dir=args.audio_root)
    else:
        records = voxceleb.scan_audio(src)
    if args.split and fmt != "asvspoof2019":
        for r in records:
            r.split = args.split
    write_manifest(records, args.out)
    print(json.dumps(summarize(records)))
    return 0


def run_info(args: argparse.Namespace) -> int:
    from voxguard.data.manifest import read_manifest, summarize

    print(json.dumps(summarize(read_manifest(args.manifest)), indent=1))
    return 0


def run_shortcuts(args: argparse.Namespace) -> int:
    from voxguard.data.manifest import read_manifest
    from voxguard.data.synth.shortcuts import FEATURES, shortcut_report
    from voxguard.errors import VoxguardError

    folder = Path(args.folder)
    if not (folder / "manifest.jsonl").is_file():
        raise VoxguardError(f"{folder}: no manifest.jsonl; give a folder built by `voxguard data synth`")
    report = shortcut_report(read_manifest(folder / "manifest.jsonl"), folder)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print("| split | files | trivial-classifier EER | " + " | ".join(f"{f} EER" for f in FEATURES) + " |")
    print("|---" * (3 + len(FEATURES)) + "|")
    for split, row in report.items():
        cells = " | ".join(f"{100 * row[f + '_eer']:.1f} %" for f in FEATURES)
        print(f"| {split} | {row['n']} | {100 * row['logistic_eer']:.1f} % | {cells} |")
    return 0


def run_vocode(args: argparse.Namespace) -> int:
    import sys

    from tqdm import tqdm

    from voxguard.audio.io import load_audio, save_audio
    from voxguard.data.synth.neural_vocoders import load_vocoder, vocode
    from voxguard.errors import VoxguardError

    load_vocoder(args.vocoder)  # fail early on an unknown or tampered vocoder
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = Path(args.vocoder).name
    failed = 0
    for path in tqdm(args.inputs, desc=f"vocode ({name})", unit="file", disable=args.no_progress):
        try:
            wav, _ = load_audio(path, 16000)
            save_audio(out / f"{Path(path).stem}.{name}.flac", vocode(wav, args.vocoder), 16000)
        except VoxguardError as exc:
            failed += 1
            print(f"voxguard data vocode: {exc}", file=sys.stderr)
    print(f"wrote {len(args.inputs) - failed} file(s) to {out}")
    return 1 if failed else 0


def run_attacks(args: argparse.Namespace) -> int:
    from voxguard.data.synth.attacks import attack_table_markdown, catalogue_rows

    print(json.dumps(catalogue_rows(), indent=1) if args.json else attack_table_markdown())
    return 0
