"""``voxguard detect FILE...``: is each file bona fide speech or a spoof?

Prints one line per file (``--json``: one JSON record with ``file`` and ``score``, plus
``calibrated`` and ``decision`` when a calibration or threshold is given). The score is
``logit[1] - logit[0]`` (higher = bona fide). A file that cannot be read gets a one-line error
on stderr, the other files are still scored, and the exit status is 1.
"""

from __future__ import annotations

import argparse

from voxguard.cli._common import (
    add_model_args,
    add_runtime_args,
    emit,
    expand_inputs,
    load_detector,
    report_error,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "detect",
        help="score files with a countermeasure (bona fide vs spoof)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files or directories")
    add_model_args(p, "cm")
    add_runtime_args(p)
    p.add_argument(
        "--mode",
        choices=["crop", "windows"],
        default="crop",
        help="crop: first 4.04 s, tile-repeated (AASIST eval); windows: mean over "
        "sliding windows (always used for inputs over 20 s)",
    )
    p.add_argument("--batch-size", type=int, default=16, help="crops per forward pass")
    p.add_argument("--json", action="store_true", help="one JSON record per file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    detector = load_detector(args)
    failed = 0
    for det in detector.score_files(expand_inputs(args.files)):
        if det.error is not None:
            report_error("detect", det.error)
            failed += 1
            continue
        if args.json:
            record = {"file": det.file, "score": det.score}
            for key in ("calibrated", "decision", "speech_fraction"):
                if getattr(det, key) is not None:
                    record[key] = getattr(det, key)
            record["n_windows"] = det.n_windows
            emit(record)
        else:
            extra = f"  {det.decision:8s}" if det.decision else ""
            print(f"{det.score:+10.4f}{extra}  {det.file}")
    return 1 if failed else 0
