"""Report only: a CM bundle's mean raw score per ``librispeech-test-other`` speaker, with and without
an inference dither (the card's ``dither_dbfs``), whole utterances through the real inference path.

python recipes/cm/dither_by_speaker.py lcnn_triplekok_engine --levels -70 -60 -50 \
    --out recipes/cm/results/dither_test_other_by_speaker.json

Read after the thirty-eighth session's decision on the dither (it chose nothing): higher = more
bona fide; the scores are the bundle's fused log-odds before calibration.
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

import numpy as np
from select_bundle import with_card

from voxguard.api import SpoofDetector


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundle")
    ap.add_argument("--levels", type=float, nargs="+", required=True, help="dither levels in dBFS")
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    shared = Path(args.shared)
    rows = [json.loads(x) for x in (shared / "manifest.jsonl").open()]
    rows = [r for r in rows if r["corpus"] == "librispeech-test-other"]
    files = [str(shared / r["path"]) for r in rows]
    res = {}
    for level in [None, *args.levels]:
        det = SpoofDetector.from_pretrained(with_card(args.bundle, None, None, level), num_threads=1)
        by_speaker = collections.defaultdict(list)
        for r, d in zip(rows, det.score_files(files), strict=True):
            by_speaker[r["speaker"]].append(d.score)
        key = "no dither" if level is None else f"{level:g} dBFS"
        res[key] = {k: round(float(np.mean(v)), 3) for k, v in sorted(by_speaker.items(), key=lambda kv: np.mean(kv[1]))}
        print(key, res[key], flush=True)
    Path(args.out).write_text(json.dumps({"bundle": args.bundle, "mean_raw_score_by_speaker": res}, indent=1) + "\n")


if __name__ == "__main__":
    main()
