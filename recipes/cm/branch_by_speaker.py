"""Report only: trained branches alone on ``librispeech-test-other``, mean log-odds by speaker.

python recipes/cm/branch_by_speaker.py runs/cm/RUN... --out recipes/cm/results/NAME.json [--data ../shared/data]

Each run folder's ``best.pt`` (``fuse.load_branch``) scores the first 4-s window of the 100
test-other utterances (bona fide, never trained on); the mean log-odds per speaker shows whether a
branch still singles out a speaker (the phase branch scores 3080 far below the others).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bona_by_speaker import first_window, leaf_scores, test_other_rows  # noqa: E402
from fuse import load_branch  # noqa: E402

from voxguard.audio.io import load_audio  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default="../shared/data")
    args = ap.parse_args()
    root = Path(args.data)
    rows = test_other_rows(root)
    models = {Path(r).name: load_branch(Path(r)).eval() for r in args.runs}
    out: dict[str, dict[str, list[float]]] = {n: defaultdict(list) for n in models}
    with torch.inference_mode():
        for r in rows:
            x = first_window(load_audio(root / r["path"], 16000)[0])
            for name, m in models.items():
                out[name][r["speaker"]] += leaf_scores(m, x)  # one leaf: its log-odds
    res = {
        n: {s: round(float(np.mean(v)), 2) for s, v in sorted(d.items())} for n, d in out.items()
    }
    for n, d in res.items():
        print(n, d)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
