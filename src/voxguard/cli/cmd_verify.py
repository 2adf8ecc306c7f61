"""``voxguard verify TEST... --enrollment SPEAKER.npy``: spoof-aware speaker verification.

Each test file is scored by the countermeasure (``--cm-*``) and the speaker model (``--asv-*``)
and the two are fused (``--fusion``; cascade by default: accept iff bona fide and same speaker).
Give the speaker either as an enrollment file from ``voxguard enroll`` or as ``--enroll FILE...``.
"""

from __future__ import annotations

import argparse

from voxguard.cli._common import (
    add_model_args,
    add_runtime_args,
    emit,
    expand_inputs,
    load_detector,
    load_verifier,
    report_error,
)
from voxguard.errors import VoxguardError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="spoof-aware verification of test files against a speaker",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="TEST", help="test audio files")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--enrollment", help="enrollment file written by `voxguard enroll`")
    who.add_argument("--enroll", nargs="+", metavar="FILE", help="enrollment audio files")
    add_model_args(p, "cm", prefix="cm-")
    add_model_args(p, "spk", prefix="asv-")
    add_runtime_args(p)
    p.add_argument(
        "--fusion",
        choices=["cascade", "sum", "product"],
        default="cascade",
        help="how CM and ASV combine (sum/product need both calibrations)",
    )
    p.add_argument(
        "--fused-threshold", type=float, default=None, help="threshold of sum/product fusion"
    )
    p.add_argument("--json", action="store_true", help="one JSON record per test file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from voxguard.api import SASVSystem, load_embedding

    system = SASVSystem(
        load_detector(args, "cm_"), load_verifier(args, "asv_"), args.fusion, args.fused_threshold
    )
    enrollment = load_embedding(args.enrollment) if args.enrollment else system.enroll(args.enroll)
    failed = 0
    for path in expand_inputs(args.files):
        try:
            res = system.verify(enrollment, path)
        except VoxguardError as exc:
            report_error("verify", str(exc))
            failed += 1
            continue
        if args.json:
            emit(res.to_dict())
        else:
            print(
                f"{res.decision:6s}  cm {res.cm_score:+8.3f} ({res.cm_decision})  "
                f"asv {res.asv_score:+6.3f} ({res.asv_decision})  {res.file}"
            )
    return 1 if failed else 0
