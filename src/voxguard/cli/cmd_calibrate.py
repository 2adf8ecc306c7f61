"""``voxguard calibrate``: fit an affine score-to-LLR calibration on dev scores, or apply one.

Fit:   voxguard calibrate DEV_SCORES DEV_KEYS --out calib.json [--prior 0.5]
Apply: voxguard calibrate --apply calib.json SCORES [KEYS] --out calibrated.tsv

With KEYS, actDCF and Cllr before / after calibration are reported. When the dev scores are
perfectly separable (every bona fide score above every spoof score) the fitted scale is set by
the regulariser alone and the LLRs come out overconfident, which can make Cllr on other data
worse than the raw scores: a warning says so; fit on a larger or harder dev set, or raise
``--l2`` (a ridge on the standardised scale) to temper the fit.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from voxguard.cli._files import nonnegative_float, probability


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate",
        help="fit / apply affine score calibration (scores -> LLRs)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "files", nargs="+", metavar="FILE", help="fit: DEV_SCORES DEV_KEYS; apply: SCORES [KEYS]"
    )
    p.add_argument(
        "--out",
        required=True,
        help="fit: calibration JSON to write; apply: calibrated score file to write",
    )
    p.add_argument(
        "--apply", metavar="CALIB", help="apply this calibration JSON instead of fitting"
    )
    p.add_argument(
        "--prior",
        type=probability,
        default=0.5,
        help="bona fide prior the fit targets (default 0.5, i.e. Cllr)",
    )
    p.add_argument(
        "--format",
        dest="score_format",
        default="auto",
        choices=["auto", "asvspoof5", "asvspoof2019", "asvspoof2021"],
    )
    p.add_argument("--key-format", default="auto")
    p.add_argument(
        "--l2",
        type=nonnegative_float,
        default=1e-6,
        help="ridge on the (standardised) scale of the fit (default 1e-6); raise it, e.g. to "
        "0.01, to temper a fit on separable dev scores",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def separable_warning(scores: Any, labels: Any, scale: float) -> str | None:
    """A warning when the dev scores separate the classes perfectly (an overconfident fit)."""
    import numpy as np

    s, y = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    if not (y == 1).any() or not (y == 0).any() or s[y == 1].min() <= s[y == 0].max():
        return None
    return (
        f"the dev scores are perfectly separable (every bona fide score above every spoof "
        f"score), so nothing in them bounds the fitted scale ({scale:.4g}); the LLRs will be "
        "overconfident and Cllr on other data can get worse than uncalibrated; fit on a larger "
        "or harder dev set, or raise --l2 (e.g. 0.01)"
    )


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from voxguard.cli._files import input_file, output_file
    from voxguard.data.scorefiles import read_cm_keys, read_cm_scores, write_cm_scores
    from voxguard.errors import VoxguardError
    from voxguard.evaluation.cm import join_cm
    from voxguard.metrics import act_dcf, cllr
    from voxguard.scoring.calibration import AffineCalibrator

    fitting = args.apply is None
    if fitting and len(args.files) != 2:
        raise VoxguardError("fitting needs DEV_SCORES DEV_KEYS (or pass --apply CALIB SCORES)")
    if not fitting and len(args.files) not in (1, 2):
        raise VoxguardError("--apply needs SCORES and optionally KEYS")
    for path in args.files:
        input_file(path, "score or key")
    output_file(args.out, "calibration" if fitting else "calibrated score file")
    scores = read_cm_scores(args.files[0], args.score_format)
    report: dict = {}
    if fitting:
        keys = read_cm_keys(args.files[1], args.key_format)
        joined = join_cm(scores, keys)
        cal = AffineCalibrator().fit(joined.scores, joined.labels, prior=args.prior, l2=args.l2)
        cal.save(args.out)
        report["calibration"] = cal.to_dict()
        warning = separable_warning(joined.scores, joined.labels, cal.scale)
        if warning:
            report["warning"] = warning
            print(f"voxguard calibrate: warning: {warning}", file=sys.stderr)
    else:
        cal = AffineCalibrator.load(input_file(args.apply, "calibration"))
        fmt = "asvspoof5" if args.score_format == "auto" else args.score_format
        keys = read_cm_keys(args.files[1], args.key_format) if len(args.files) == 2 else None
        llrs = cal.transform(scores.scores)
        if not np.isfinite(llrs).all():
            bad = scores.ids[int(np.flatnonzero(~np.isfinite(llrs))[0])]
            raise VoxguardError(
                f"{args.files[0]}: calibrating gives non-finite LLRs (first: {bad}); check the "
                f"scores and {args.apply}, nothing was written"
            )
        write_cm_scores(
            args.out,
            scores.ids,
            llrs,
            fmt=fmt,
            errors=scores.errors,
            keys=keys,
        )
        report["written"] = args.out
        joined = join_cm(scores, keys) if keys is not None else None
    if joined is not None:
        bona, spf = joined.scores[joined.labels == 1], joined.scores[joined.labels == 0]
        lb, ls = cal.transform(bona), cal.transform(spf)
        report["before"] = {"act_dcf": act_dcf(bona, spf)[0], "cllr": cllr(bona, spf)}
        report["after"] = {"act_dcf": act_dcf(lb, ls)[0], "cllr": cllr(lb, ls)}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        if fitting:
            print(
                f"wrote {args.out}: llr = {cal.scale:.6g} * score + {cal.offset:.6g} "
                f"(prior {cal.prior:g})"
            )
        else:
            print(f"wrote {args.out} ({len(scores.ids)} calibrated scores)")
        if "before" in report:
            for stage in ("before", "after"):
                m = report[stage]
                print(f"{stage:7s} actDCF {m['act_dcf']:.4f}  Cllr {m['cllr']:.4f}")
    return 0
