"""``voxguard models [GLOB]``: list registered models (and which have bundled weights)."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list registered models", description=__doc__)
    p.add_argument("pattern", nargs="?", default="*", help="glob on model names (default: all)")
    p.add_argument("--task", choices=["cm", "spk", "sasv"], help="only models of this task")
    p.add_argument("--json", action="store_true", help="one JSON record per model")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from voxguard.models import get_entry, list_models
    from voxguard.models._hub import PRETRAINED_DIR

    names = list_models(args.pattern, task=args.task)
    if not names:  # say so, rather than print nothing
        task = f" for task {args.task}" if args.task else ""
        print(
            f"voxguard models: no registered model matches {args.pattern!r}{task} "
            "(`voxguard models` lists them all)",
            file=sys.stderr,
        )
        return 1
    bundled = (
        {p.name: p for p in PRETRAINED_DIR.glob("*") if (p / "config.json").is_file()}
        if PRETRAINED_DIR.is_dir()
        else {}
    )
    pretrained_of = {}
    for dirname, path in bundled.items():
        meta = json.loads((path / "config.json").read_text())
        pretrained_of.setdefault(meta["model"], []).append(dirname)
    rows = []
    for name in names:
        entry = get_entry(name)
        weights = pretrained_of.get(name, [])
        if args.json:
            print(
                json.dumps(
                    {
                        "name": name,
                        "task": entry.task,
                        "pretrained": weights,
                        "description": entry.description,
                    }
                )
            )
        else:
            mark = f"pretrained: {', '.join(weights)}" if weights else "random init"
            rows.append((name, entry.task, mark, entry.description))
    if rows:  # columns as wide as their longest entry, so long names never run together
        wide = [max(len(r[i]) for r in rows) for i in range(3)]
        for r in rows:
            print("  ".join(f"{v:{w}s}" for v, w in zip(r[:3], wide, strict=True)), r[3])
    return 0
