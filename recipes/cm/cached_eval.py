"""Score a CM bundle's merge + backend on the cached Whisper states (the study table's numbers).

python recipes/cm/cached_eval.py BUNDLE --feats runs/cm/feats_a,runs/cm/feats_b --levels 4 --out JSON

Same evaluation as the learning curves of train.py (dev / eval / validation sets, first 4-s
window), so a bundle trained elsewhere (the previous default CM) sits in the same table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train as T  # noqa: E402

from voxguard.models._hub import load_pretrained  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundle")
    ap.add_argument("--feats", default="runs/cm/feats_a,runs/cm/feats_b")
    ap.add_argument("--levels", default="4", help="cached levels the bundle's merge reads (0 = stem)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    states, rows = T.load(args.feats)
    model = load_pretrained(args.bundle)
    levels = [int(v) for v in args.levels.split(",")]
    groups = {"dev": np.array([i for i, r in enumerate(rows) if r["split"] == "dev"]),
              "eval": np.array([i for i, r in enumerate(rows) if r["split"] == "eval"])}
    for k in T.VALIDATION_SETS:
        groups[k] = np.array([i for i, r in enumerate(rows) if r.get("set") == k])

    class _Merge(torch.nn.Module):  # the old bundle merges the 4 layers with "last": feed it 1 level
        def __init__(self, merge):
            super().__init__()
            self.inner, self.num_layers = merge, len(levels)

        def forward(self, hidden, frames):
            return hidden[:, -1] if self.inner.__class__.__name__.lower().startswith("last") else self.inner(hidden, frames)

    if model.merge.num_layers != len(levels):
        model.merge = _Merge(model.merge)
    res = T.evaluate(model, states, rows, groups, levels)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
