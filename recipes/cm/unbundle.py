"""Take one branch out of a fused CM bundle as a ``train_waveform.py`` run folder for ``fuse.py``.

python recipes/cm/unbundle.py lcnn_triplesam_engine 1 runs/cm/lcnn_widephase_shipped      # the phase branch
python recipes/cm/unbundle.py lcnn_triplesam_engine 0.1 runs/cm/lcnn_wide_sam_s2_shipped  # its SAM branch

Run folders are git-ignored, so on a fresh machine the branches of a shipped fusion exist only
inside its bundle. ``BRANCH`` is the path through the fusion tree (``1``: the top fusion's
second branch; ``0.1``: the second branch of its first). Written: ``best.pt`` (the branch's
weights, as the bundle holds them), ``summary.json`` and ``log.jsonl`` rebuilt from the card's
training record of that branch (and ``args.json``), so ``fuse.py --branch``, its card writer
and ``per_attack.py`` read it as the original run. Nothing is retrained or re-selected.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch

from voxguard.models import load_pretrained
from voxguard.models._hub import read_config, resolve_pretrained_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundle")
    ap.add_argument("branch", help="path through the fusion tree, e.g. 1 or 0.1")
    ap.add_argument("out")
    args = ap.parse_args()
    meta = read_config(resolve_pretrained_dir(args.bundle))
    path = [int(p) for p in args.branch.split(".")]
    config, card, module = meta["config"], meta["card"], load_pretrained(args.bundle)
    for i in path:
        if i >= len(config.get("branches", [])):
            raise SystemExit(f"{args.bundle}: no branch {args.branch} (its fusion tree: {meta['config'].get('branches')})")
        name = config["branches"][i]
        # the card keeps a nested fusion's record under branch_0 and each branch's as branch_<i>_training
        record = card.get(f"branch_{i}_training")
        card = card.get(f"branch_{i}", {})
        config, module = config["branch_configs"][i], module.branches[i]
    if record is None or record.get("model") != name:
        raise SystemExit(f"{args.bundle}: no training record for branch {args.branch} ({name}) in its card")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    snapshot = re.search(r"snapshot of step (\d+)", record["weights"])
    listed = re.search(r"\[([\d, ]+)\]", record["weights"])  # the run's averaged steps
    averaged = [int(s) for s in listed.group(1).split(",")] if listed else []
    steps = [int(snapshot.group(1))] if snapshot else averaged
    torch.save({"model": module.state_dict(), "model_name": name, "averaged_steps": steps}, out / "best.pt")
    summary = {
        "args": {"model": name, "seed": record["seed"], "steps": record["steps_planned"], "batch": record["batch"],
                 "crop_s": record["crop_s"], "lr": record["lr"]},
        "params": record["params"], "averaged_steps": averaged or steps, "loss": record.get("loss", "cross_entropy"),
        "train_files": record["train_files"], "cpu_s": record["cpu_s"], "wall_s": record["wall_s"],
        "shipped": {"snapshot_step": steps[0]} if snapshot else {"averaged_steps": steps},
        "unbundled_from": f"{args.bundle} branch {args.branch}",
        # every branch of a shipped fusion trained on the same engine build's train split, so the
        # bundle's list is each branch's (fuse.py's card writer needs it)
        "attacks_seen": meta["card"].get("attacks_seen", []),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out / "args.json").write_text(json.dumps(summary["args"], indent=1) + "\n")  # per_attack.py reads it
    (out / "log.jsonl").write_text(json.dumps({"step": record["steps_run"]}) + "\n")
    print(f"{args.bundle} branch {args.branch} ({name}, steps {steps}) -> {out}")


if __name__ == "__main__":
    main()
