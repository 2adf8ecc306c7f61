"""``voxguard verify TEST... --enrollment SPEAKER.npy``: spoof-aware speaker verification.

Each test file is scored by the countermeasure (``--cm-*``) and the speaker model (``--asv-*``)
and the two are fused (``--fusion``; cascade by default: accept iff bona fide and same speaker).
Give the speaker either as an enrollment file from ``voxguard enroll`` or as ``--enroll FILE...``.

The speaker decision uses a security operating point: by default the threshold for a 1 %
false-accept rate measured on held-out speakers (when the speaker bundle has that table); pick
another with ``--far 0.001`` or an explicit LLR threshold with ``--threshold`` (alias of
``--asv-threshold``). The operating point in force is printed first (and is in every JSON record).
"""

from __future__ import annotations

import argparse

from voxguard.cli._common import (
    _scorer_kwargs,
    add_model_args,
    add_progress_arg,
    add_runtime_args,
    emit,
    expand_inputs,
    load_detector,
    progress_bar,
    report_error,
    start_up,
)
from voxguard.cli._files import finite_float
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
    op = p.add_mutually_exclusive_group()
    op.add_argument(
        "--far",
        type=float,
        default=None,
        help="speaker operating point: target false-accept rate (default: the bundle's, 0.01)",
    )
    op.add_argument(
        "--threshold",
        dest="threshold_alias",
        type=finite_float,
        default=None,
        help="speaker decision threshold on the calibrated LLR (same as --asv-threshold)",
    )
    p.add_argument(
        "--fusion",
        choices=["cascade", "sum", "product"],
        default="cascade",
        help="how CM and ASV combine (sum/product need both calibrations)",
    )
    p.add_argument(
        "--fused-threshold", type=finite_float, default=None, help="threshold of sum/product fusion"
    )
    p.add_argument("--json", action="store_true", help="one JSON record per test file")
    add_progress_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from voxguard.api import SASVSystem, SpeakerVerifier, load_embedding
    from voxguard.api.verifier import EnrollmentMismatch

    if args.threshold_alias is not None:
        if args.asv_threshold is not None and args.asv_threshold != args.threshold_alias:
            raise VoxguardError("give --threshold or --asv-threshold, not two different values")
        args.asv_threshold = args.threshold_alias
    if args.far is not None and args.asv_threshold is not None:
        raise VoxguardError("give --far or --asv-threshold, not both")
    # a bad enrollment file is refused before any model loads or anything is printed
    enrollment = load_embedding(args.enrollment) if args.enrollment else None
    with start_up():
        asv = SpeakerVerifier.from_pretrained(
            args.asv_model, far=args.far, **_scorer_kwargs(args, "asv_")
        )
    system = SASVSystem(load_detector(args, "cm_"), asv, args.fusion, args.fused_threshold)
    if enrollment is None:
        enrollment = system.enroll(args.enroll)
    op = asv.operating_point.describe()
    if not args.json:
        print(f"# speaker operating point ({asv.name}): {op}")
    failed = 0
    paths = expand_inputs(args.files)
    bar = progress_bar(args, len(paths))
    for path in paths:
        try:
            res = system.verify(enrollment, path)
        except EnrollmentMismatch:
            raise  # the same for every file: one error, status 2
        except VoxguardError as exc:
            report_error("verify", str(exc))
            failed += 1
            continue
        finally:
            bar.update(1)
        if args.json:
            emit(
                {**res.to_dict(), "asv_threshold": system.asv_threshold, "asv_operating_point": op}
            )
        else:
            print(
                f"{res.decision:6s}  cm {res.cm_score_kind} {res.cm_decision_score:+8.3f} "
                f"threshold {res.cm_threshold:+.3f} ({res.cm_decision})  "
                f"asv {res.asv_score_kind} {res.asv_decision_score:+7.3f} "
                f"threshold {res.asv_threshold:+.3f} ({res.asv_decision})  {res.file}"
            )
    bar.close()
    return 1 if failed else 0
