"""Official AASIST weights on the engine eval split (the reference row of recipes/cm/README.md).

python recipes/cm/aasist_reference.py --weights ../shared/anchors/aasist/AASIST.pth \
    --engine data/voxguard-engine --out recipes/cm/results/aasist_engine_eval.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from voxguard.api import SpoofDetector
from voxguard.metrics.cllr import cllr
from voxguard.metrics.dcf import min_dcf
from voxguard.metrics.det import eer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default="../shared/anchors/aasist/AASIST.pth")
    ap.add_argument("--engine", default="data/voxguard-engine")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    engine = Path(args.engine)
    rows = [json.loads(x) for x in (engine / "manifest.jsonl").open() if '"split": "eval"' in x]
    det = SpoofDetector.from_pretrained("aasist", weights=args.weights, mode="crop", aggregate="mean", num_threads=1)
    t0, c0 = time.time(), time.process_time()
    res = det.score_files([str(engine / r["path"]) for r in rows])
    s = np.array([d.score for d in res])
    y = np.array([r["label"] == "bonafide" for r in rows])
    out = {"model": "aasist (official ASVspoof 2019 LA weights)", "mode": "first 64,600 samples (official eval convention)",
           "eer": float(eer(s[y], s[~y])[0]), "min_dcf": float(min_dcf(s[y], s[~y])[0]), "cllr_raw": float(cllr(s[y], s[~y])),
           "per_attack_eer": {a: float(eer(s[y], s[np.array([r["attack"] == a for r in rows])])[0])
                              for a in sorted({r["attack"] for r in rows if r["label"] == "spoof"})},
           "n": len(rows), "cpu_s": time.process_time() - c0, "wall_s": time.time() - t0}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
