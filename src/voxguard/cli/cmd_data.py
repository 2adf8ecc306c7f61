"""``voxguard data``: build the voxguard-mini benchmark and manifests of real corpora.

voxguard data synth --out data/voxguard-mini [--data ../shared/data] [--speakers 6 6 6]
voxguard data manifest asvspoof2019 LA_ROOT --split train --out train.jsonl
voxguard data info MANIFEST.jsonl
voxguard data attacks
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

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
        "synth", help="generate the voxguard-mini benchmark (ASVspoof 2019 LA layout)"
    )
    s.add_argument("--out", required=True, help="output folder (created; existing files are kept)")
    s.add_argument(
        "--data",
        help="bona fide manifest or folder holding manifest.jsonl "
        "(default: ../shared/data beside the repository)",
    )
    s.add_argument("--corpus", default="librispeech-mini", help="corpus of the manifest to use")
    s.add_argument(
        "--speakers",
        type=int,
        nargs=3,
        default=(6, 6, 6),
        metavar=("TRAIN", "DEV", "EVAL"),
        help="speakers per split (disjoint; 0 skips a split)",
    )
    s.add_argument("--utterances", type=int, default=15, help="bona fide utterances per speaker")
    s.add_argument(
        "--spoofs-per-utt", type=int, default=1, help="spoofed files made from each bona fide one"
    )
    s.add_argument(
        "--attacks",
        nargs="*",
        default=[],
        metavar="SPLIT=A01,A02",
        help="override a split's attack ids (see `voxguard data attacks`)",
    )
    s.add_argument(
        "--codecs", default="-,mp3,opus,ulaw8k", help="channel codecs of the codec splits"
    )
    s.add_argument("--codec-splits", default="eval", help="comma-separated splits given a codec")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--workers", type=int, default=2, help="generator processes")
    s.add_argument("--no-progress", action="store_true")
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

    a = dsub.add_parser("attacks", help="the voxguard-mini attack table")
    a.set_defaults(func=run_attacks)


def run_synth(args: argparse.Namespace) -> int:
    from voxguard.data.manifest import summarize
    from voxguard.data.synth.build import SPLITS, BuildConfig, build, default_data_dir

    data = args.data or default_data_dir()
    if data is None:
        from voxguard.errors import VoxguardError

        raise VoxguardError(
            "no bona fide data found: pass --data DIR (a folder with manifest.jsonl)"
        )
    cfg = BuildConfig(
        data=str(data),
        out=args.out,
        corpus=args.corpus,
        speakers=tuple(args.speakers),
        utterances=args.utterances,
        spoofs_per_utt=args.spoofs_per_utt,
        codecs=tuple(args.codecs.split(",")),
        codec_splits=tuple(args.codec_splits.split(",")),
        seed=args.seed,
        workers=args.workers,
    )
    for item in args.attacks:
        split, _, ids = item.partition("=")
        if split not in SPLITS or not ids:
            raise SystemExit(
                f"voxguard data synth: --attacks wants SPLIT=A01,A02 with SPLIT in {SPLITS}"
            )
        cfg.attacks[split] = ids.split(",")
    records = build(cfg, progress=not args.no_progress)
    print(json.dumps(summarize(records)))
    print(f"wrote {len(records)} files, protocols and manifest.jsonl under {Path(args.out)}")
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


def run_attacks(args: argparse.Namespace) -> int:
    from voxguard.data.synth.attacks import attack_table_markdown

    print(attack_table_markdown())
    return 0
