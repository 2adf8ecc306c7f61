"""Score the voxguard-mini eval set with the OFFICIAL AASIST weights (outside reference row).

Usage (from the repository root)::

    python recipes/mini/score_aasist.py --weights PATH/TO/AASIST.pth \
        [--data data/voxguard-mini] [--out runs/mini_whisper/aasist_official] [--threads 1]

Eval convention: the first 64,600 samples, tile-repeated when shorter (AASIST's ``pad``),
through :class:`voxguard.api.SpoofDetector` (score = logit[1] - logit[0]). Writes
``scores_eval.tsv`` (ASVspoof 5 format) and ``timing.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from voxguard.api import SpoofDetector
from voxguard.data.scorefiles import write_cm_scores

PROTOCOL = "ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.eval.trl.txt"


def main() -> None:
    """Score every eval file listed in the protocol and write the score file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", required=True, help="official AASIST.pth")
    ap.add_argument("--data", default="data/voxguard-mini")
    ap.add_argument("--out", default="runs/mini_whisper/aasist_official")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    root, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ids = [line.split()[1] for line in (root / PROTOCOL).read_text().splitlines() if line.strip()]
    paths = [root / "ASVspoof2019_LA_eval" / "flac" / f"{u}.flac" for u in ids]
    det = SpoofDetector.from_pretrained(
        "aasist", weights=args.weights, num_threads=args.threads, batch_size=8,
        mode="crop", aggregate="mean",  # the official first-crop convention of the published figures
    )
    start = time.perf_counter()
    results = det.score_files(paths)
    wall = time.perf_counter() - start
    errors = {u: r.error for u, r in zip(ids, results, strict=True) if r.error}
    ok = [(u, r.score) for u, r in zip(ids, results, strict=True) if not r.error]
    write_cm_scores(out / "scores_eval.tsv", [u for u, _ in ok], [s for _, s in ok], errors=errors)
    timing = {"files": len(ids), "wall_s": round(wall, 1), "threads": args.threads}
    (out / "timing.json").write_text(json.dumps(timing, indent=2) + "\n")
    print(json.dumps(timing))


if __name__ == "__main__":
    main()
