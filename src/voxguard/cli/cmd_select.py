"""``voxguard select RESULTS.csv``: rank configurations by the composite selection score.

Criteria (lower is better, min-max normalised across the table): EER, minDCF (accuracy 0.5),
actDCF, Cllr (calibration 0.2), MACs, params, latency (compute 0.3). Missing columns are dropped
and the remaining weights renormalised. ``*`` marks the accuracy-vs-compute Pareto front.
"""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "select",
        help="rank configurations by the composite selection score",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "results",
        help="CSV with a name column and EER, minDCF, actDCF, Cllr, MACs, params, latency columns",
    )
    p.add_argument(
        "--weights",
        default="",
        help="overrides, e.g. 'eer=0.4,min_dcf=0.1,latency=0' (others keep defaults)",
    )
    p.add_argument("--json", action="store_true", help="print the ranked table as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from voxguard.cli._files import input_file
    from voxguard.errors import VoxguardError
    from voxguard.evaluation.selection import name_of, parse_weights, select_csv

    input_file(args.results, "results CSV")
    try:
        result = select_csv(args.results, parse_weights(args.weights))
    except UnicodeDecodeError:
        raise VoxguardError(
            f"{args.results}: not UTF-8 text (a binary file?); pass the results CSV"
        ) from None
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    weights = ", ".join(f"{k} {v:.3f}" for k, v in result.weights.items())
    print(f"weights: {weights}")
    if result.missing:
        print(f"missing criteria (weights renormalised): {', '.join(result.missing)}")
    width = max(len(name_of(r)) for r in result.rows)
    print(f"{'rank':>4}  {'config':<{width}}  {'score':>6}  {'acc':>6}  {'comp':>6}  pareto")
    for r in result.rows:
        acc = "-" if r["accuracy_cost"] is None else f"{r['accuracy_cost']:.3f}"
        comp = "-" if r["compute_cost"] is None else f"{r['compute_cost']:.3f}"
        print(
            f"{r['rank']:>4}  {name_of(r):<{width}}  {r['score']:6.3f}  {acc:>6}  {comp:>6}  "
            f"{'*' if r['pareto'] else ''}"
        )
    return 0
