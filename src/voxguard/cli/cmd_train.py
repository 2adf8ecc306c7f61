"""``voxguard train CONFIG [--set key=value ...]``: train a registered CM model.

Writes into the run folder (``out_dir``, or ``--out``): config.yaml, versions.json,
data_manifest.jsonl, metrics.jsonl, checkpoints/, last.pt (resume), model/ (averaged weights)
and scores_eval.tsv. Multi-process: ``torchrun --nproc_per_node N -m voxguard.cli.main train ...``.
"""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a CM model from a YAML config",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", help="YAML config (see recipes/*/config.yaml)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, dotted (e.g. optim.lr=3e-4); repeatable",
    )
    p.add_argument("--out", help="run folder (overrides out_dir)")
    p.add_argument(
        "--no-resume", action="store_true", help="start afresh even if the run folder has last.pt"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from voxguard.training.config import load_config
    from voxguard.training.loop import train

    overrides = list(args.overrides)
    if args.out:
        overrides.append(f"out_dir={args.out}")
    if args.no_resume:
        overrides.append("resume=false")
    cfg = load_config(args.config, overrides)
    result = train(cfg, progress=not args.no_progress)
    if result.model_dir is not None:  # only the main process reports
        last = result.history[-1] if result.history else {}
        print(
            json.dumps({"run_dir": str(result.run_dir), "last_epoch": last, **result.eval_metrics})
        )
        if result.score_file:
            print(f"eval scores: {result.score_file}")
    return 0
