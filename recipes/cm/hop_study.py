"""Window hop vs partial-spoof detection and genuine false rejects, through the real inference path.

python recipes/cm/hop_study.py BUNDLE --out recipes/cm/results/hop_study_NAME.json [--hops 4,2,1]

The detector scores windows of 4 s covering the whole input and keeps the worst window with
enough speech (``min``). A shorter hop puts a short spoofed segment more fully inside some window
(caught more often) but gives a long genuine file more windows, each a chance of a false
rejection. Measured for each hop (seconds): the partial spoofs of ``evaluate.py`` (20 s of
genuine test-other speech with one 1-2.5 s spoofed segment) caught, the whole
``librispeech-test-other`` utterances called spoof, and the windows scored per second of audio.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from evaluate import RATE, partial_spoofs

from voxguard.api import SpoofDetector
from voxguard.audio.io import load_audio


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundle")
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--out", required=True)
    ap.add_argument("--hops", default="4,2,1", help="window hops in seconds")
    ap.add_argument("--partial", type=int, default=30)
    args = ap.parse_args()
    shared = Path(args.shared)
    rows = [json.loads(x) for x in (shared / "manifest.jsonl").open()]
    test_other = [load_audio(shared / r["path"], RATE)[0] for r in rows if r["corpus"] == "librispeech-test-other"]
    partial = partial_spoofs(shared, args.partial, np.random.default_rng(0))
    res: dict = {"bundle": args.bundle, "hops": {}}
    for hop_s in (float(h) for h in args.hops.split(",")):
        det = SpoofDetector.from_pretrained(args.bundle, hop=int(hop_s * RATE), num_threads=1)
        c0 = time.process_time()
        caught = [d.decision == "spoof" for d in det.score_arrays([p[0] for p in partial], RATE)]
        genuine = [d.decision == "spoof" for d in det.score_arrays(test_other, RATE)]
        seconds = sum(len(p[0]) for p in partial) / RATE + sum(len(x) for x in test_other) / RATE
        res["hops"][f"{hop_s:g}"] = {
            "partial_caught": float(np.mean(caught)),
            "test_other_called_spoof": float(np.mean(genuine)),
            "cpu_s_per_audio_s": (time.process_time() - c0) / seconds,
        }
        print(hop_s, res["hops"][f"{hop_s:g}"], flush=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
