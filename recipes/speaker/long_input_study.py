"""How ``SpeakerVerifier`` should embed LONG inputs: whole up to ``T`` s, or windows beyond.

The shipped policy embeds any input up to ``long_file_s`` = 20 s whole and longer ones as the
mean of 6-s windows. The students train on 1-3-s crops and every dev utterance is at most 6 s,
so ``window_study.py`` could not show what a whole 8-23-s input (test-other's are up to 22.8 s)
does to the embedding. This study builds a long dev set from dev speakers only and measures each
policy through the real inference path (``SpeakerVerifier.from_pretrained(long_file_s=T,
window_s=W)``, ``embed_array``):

- ``dev_long``: each of the 6 dev mini speakers' utterances shuffled (seed 0) and concatenated in
  groups of ``--group`` (3: 18 s; 12-24 inputs per speaker, 94 in all), plus the held-out cohort
  utterances as they are (6 s, non-target only); all pairs.
- ``dev``: the 320 dev utterances as they are (all at most 6 s), all pairs.
- ``test_other``: all 4,950 pairs of LibriSpeech test-other — reported, never used to choose.

Usage: python long_input_study.py DATA_DIR OUT_JSON MODEL [--policies 20:6,3:3,4:4,6:6,8:8]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from splits import splits  # noqa: E402
from window_study import eer_of  # noqa: E402

from voxguard.api import SpeakerVerifier  # noqa: E402
from voxguard.audio.io import load_audio  # noqa: E402

SR = 16000


def long_dev(data_dir: str, dev_mini: list[dict], dev_cohort: list[dict], group: int, seed: int):
    """``(waves, speakers, sources)`` of the long dev set (see the module docstring)."""
    rng = np.random.default_rng(seed)
    by_speaker: dict[str, list[dict]] = {}
    for e in sorted(dev_mini, key=lambda e: e["utt"]):
        by_speaker.setdefault(e["speaker"], []).append(e)
    waves, speakers, sources = [], [], []
    for spk in sorted(by_speaker):
        entries = by_speaker[spk]
        order = rng.permutation(len(entries))
        for k in range(0, len(order) - group + 1, group):
            parts = [entries[i] for i in order[k : k + group]]
            waves.append(
                np.concatenate([load_audio(Path(data_dir) / e["path"], SR)[0] for e in parts])
            )
            speakers.append(spk)
            sources.append([e["utt"] for e in parts])
    for e in dev_cohort:
        waves.append(load_audio(Path(data_dir) / e["path"], SR)[0])
        speakers.append(e["speaker"])
        sources.append([e["utt"]])
    return waves, speakers, sources


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("data_dir")
    ap.add_argument("out_json")
    ap.add_argument("model", help="weights directory or bundle name")
    ap.add_argument("--policies", default="20:6,3:3,4:4,6:6,8:8", help="T:W pairs (seconds)")
    ap.add_argument("--group", type=int, default=3, help="dev utterances per long input")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    parts = splits(args.data_dir)
    lw, ls, lsrc = long_dev(
        args.data_dir, parts["dev_mini"], parts["dev_cohort"], args.group, args.seed
    )
    sets: dict[str, tuple[list[np.ndarray], list[str]]] = {"dev_long": (lw, ls)}
    for name, entries in (
        ("dev", parts["dev_mini"] + parts["dev_cohort"]),
        ("test_other", parts["test"]),
    ):
        sets[name] = (
            [load_audio(Path(args.data_dir) / e["path"], SR)[0] for e in entries],
            [e["speaker"] for e in entries],
        )
    result: dict = {
        "model": args.model,
        "sets": {
            k: {
                "inputs": len(w),
                "speakers": len(set(s)),
                "seconds_min_median_max": [
                    round(float(f(np.array([len(x) for x in w]))) / SR, 2)
                    for f in (np.min, np.median, np.max)
                ],
            }
            for k, (w, s) in sets.items()
        },
        "dev_long_sources": lsrc,
        "policies": {},
    }
    print(json.dumps(result["sets"]), flush=True)
    for policy in args.policies.split(","):
        t, w = (float(x) for x in policy.split(":"))
        verifier = SpeakerVerifier.from_pretrained(
            args.model, long_file_s=t, window_s=w, num_threads=threads
        )
        row: dict = {"long_file_s": t, "window_s": w}
        c0 = time.process_time()
        for name, (waves, speakers) in sets.items():
            emb = np.stack([verifier.embed_array(x, SR) for x in waves])
            row[name] = eer_of(emb, speakers)
        row["cpu_s"] = round(time.process_time() - c0, 1)
        result["policies"][policy] = row
        print(policy, json.dumps(row), flush=True)
    result["chosen_on_dev_long"] = min(
        result["policies"], key=lambda p: result["policies"][p]["dev_long"]["eer_pct"]
    )
    Path(args.out_json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
