"""``voxguard evaluate {cm,sasv,sv}``: metrics of score files (JSON values are fractions)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate", help="compute CM / SASV / SV metrics from score files", description=__doc__
    )
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)

    cm = tasks.add_parser("cm", help="countermeasure: EER, minDCF, actDCF, Cllr, minCllr, t-DCF")
    cm.add_argument(
        "scores", help="score file (ASVspoof 5 TSV, 2019 'UTT SRC KEY SCORE', 2021 'UTT SCORE')"
    )
    cm.add_argument(
        "keys",
        help="keys / protocol (ASVspoof 5 TSV or protocol, 2019 protocol, "
        "2021 trial_metadata, In-the-Wild meta.csv)",
    )
    cm.add_argument(
        "--format",
        dest="score_format",
        default="auto",
        choices=["auto", "asvspoof5", "asvspoof2019", "asvspoof2021"],
    )
    cm.add_argument(
        "--key-format",
        default="auto",
        choices=[
            "auto",
            "asvspoof5",
            "asvspoof5-protocol",
            "asvspoof2019",
            "asvspoof2021",
            "in-the-wild",
        ],
    )
    cm.add_argument("--phase", help="2021 trial_metadata phase to keep (e.g. eval, progress)")
    cm.add_argument(
        "--asv-scores",
        metavar="FILE",
        help="your ASV scores ('SRC KEY SCORE' or 'E T SCORE target|nontarget|spoof') for the "
        "t-DCF (default: ASVspoof 5 organiser ASV rates)",
    )
    cm.add_argument("--breakdown", action="store_true", help="per-attack and per-condition tables")
    cm.add_argument("--plot", metavar="DIR", help="write det.png and hist.png to DIR")
    cm.add_argument("--json", action="store_true", help="print one JSON object")
    cm.set_defaults(func=run_cm)

    sasv = tasks.add_parser("sasv", help="SASV: min a-DCF, SASV/SV/SPF-EER")
    sasv.add_argument("scores", help="lines 'ENROLL TEST SCORE target|nontarget|spoof'")
    sasv.add_argument("--plot", metavar="DIR", help="write det.png and hist.png to DIR")
    sasv.add_argument("--json", action="store_true", help="print one JSON object")
    sasv.set_defaults(func=run_sasv)

    sv = tasks.add_parser("sv", help="speaker verification: EER, minDCF (p 0.01, 0.05)")
    sv.add_argument("scores", help="lines 'ENROLL TEST SCORE [target|nontarget]'")
    sv.add_argument(
        "trials",
        nargs="?",
        help="Kaldi '1|0 E T' or VoxCeleb 'E T target' trials (default: labels of the score file)",
    )
    sv.add_argument("--json", action="store_true", help="print one JSON object")
    sv.set_defaults(func=run_sv)


def _print(metrics: dict[str, Any], as_json: bool) -> None:
    if metrics.get("n_unscored"):  # a partial score file is allowed, but never silently
        print(
            f"warning: {metrics['n_unscored']} keyed trials have no score and were left out of "
            "every metric (score them, or ignore this for a scored subset)",
            file=sys.stderr,
        )
    if as_json:
        print(json.dumps(metrics, indent=2))
        return
    for key, value in metrics.items():
        if isinstance(value, float):
            pct = "  (%.3f %%)" % (100 * value) if "eer" in key and "threshold" not in key else ""
            print(f"{key:22s} {value:.6f}{pct}")
        elif not isinstance(value, (list, dict)):
            print(f"{key:22s} {value}")


def _warn_errors(n_errors: int, path: str) -> None:
    if n_errors:
        print(
            f"warning: {n_errors} rows of {path} carry an error and were left out", file=sys.stderr
        )


def _check_files(args: argparse.Namespace, *names: str) -> None:
    """Input files exist and are files; ``--plot`` is a writable folder (before any work)."""
    from voxguard.cli._files import input_file, output_dir

    for name in names:
        if getattr(args, name, None):
            input_file(getattr(args, name), name.replace("_", " "))
    if getattr(args, "plot", None):
        output_dir(args.plot, "plot")


def run_cm(args: argparse.Namespace) -> int:
    from voxguard.evaluation import breakdown, evaluate_cm_files, format_table

    _check_files(args, "scores", "keys", "asv_scores")

    metrics, joined = evaluate_cm_files(
        args.scores, args.keys, args.score_format, args.key_format, args.phase, args.asv_scores
    )
    _warn_errors(metrics["n_errors"], args.scores)
    tables = {}
    if args.breakdown:
        tables = {"per_attack": breakdown(joined.scores, joined.labels, joined.attacks)}
        if any(c != "-" for c in joined.conditions):  # keys that name a codec / channel
            tables["per_condition"] = breakdown(
                joined.scores, joined.labels, joined.conditions, by="condition"
            )
        metrics.update(tables)
    if args.plot:
        from pathlib import Path

        from voxguard.evaluation.plots import plot_det, plot_histogram

        bona, spf = joined.scores[joined.labels == 1], joined.scores[joined.labels == 0]
        plot_det({"CM": (bona, spf)}, Path(args.plot) / "det.png", title="CM DET")
        plot_histogram(
            {"bona fide": bona, "spoof": spf},
            Path(args.plot) / "hist.png",
            threshold=metrics["eer_threshold"],
            threshold_label="EER threshold",
        )
    _print(metrics, args.json)
    if not args.json:
        for name, rows in tables.items():
            print(f"\n{format_table(rows, title=name.replace('per_', ''))}")
    return 0


def run_sasv(args: argparse.Namespace) -> int:
    from voxguard.evaluation import evaluate_sasv_file

    _check_files(args, "scores")
    metrics, data = evaluate_sasv_file(args.scores)
    _warn_errors(metrics["n_errors"], args.scores)
    if args.plot:
        from pathlib import Path

        from voxguard.evaluation.plots import plot_det, plot_histogram

        tar = data.by_label("target")
        non, spf = data.by_label("nontarget"), data.by_label("spoof")
        plot_det(
            {"target vs nontarget": (tar, non), "target vs spoof": (tar, spf)},
            Path(args.plot) / "det.png",
            title="SASV DET",
        )
        plot_histogram(
            {"target": tar, "nontarget": non, "spoof": spf},
            Path(args.plot) / "hist.png",
            threshold=metrics["min_a_dcf_threshold"],
            threshold_label="min a-DCF threshold",
        )
    _print(metrics, args.json)
    return 0


def run_sv(args: argparse.Namespace) -> int:
    from voxguard.evaluation import evaluate_sv_files

    _check_files(args, "scores", "trials")
    metrics = evaluate_sv_files(args.scores, args.trials)
    _warn_errors(metrics["n_errors"], args.scores)
    _print(metrics, args.json)
    return 0
