"""How a CM should score an input shorter than its window: tile-repeated, or as it is.

python recipes/cm/short_input_study.py lcnn_triplekok_engine --engine data/voxguard-engine-l \
    --shared ../shared/data --out recipes/cm/results/short_input_study.json

``SpoofDetector`` tile-repeats an input shorter than its 4-s window to 4 s (AASIST's eval
convention); the LCNN branches pool over time and accept any length. This study cuts 1-s crops
(``--per-file`` per file, start uniform in 20-80 % of the file, one seeded generator) from the
engine's dev split (bona fide and spoofs; partial spoofs left out, a 1-s crop may miss their
segment), from the same-corpus validation pairs (vctk-vc bona fide against its conversions and the
SpeechT5 deepfakes) and from LibriSpeech test-other (report only), and scores every crop both
ways with the bundle's calibration: ``tile`` through ``SpoofDetector.score_arrays`` (the real
path) and ``as_is`` by the same backend on the crop alone. Per set and policy: EER, and at the
bundle's threshold the share of bona fide called spoof and of spoofs called bona fide.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from features import engine_rows  # noqa: E402

from voxguard.api import SpoofDetector  # noqa: E402
from voxguard.audio.io import load_audio  # noqa: E402
from voxguard.metrics.det import eer  # noqa: E402

RATE = 16000


def crops_of(path: str, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``n`` 1-s crops starting uniformly in 20-80 % of the file (the whole file, tiled by the
    detector, if it is shorter than 1 s)."""
    x, _ = load_audio(path, RATE)
    if len(x) <= RATE:
        return [x]
    a, b = int(0.2 * len(x)), int(0.8 * len(x)) - RATE
    return [x[s : s + RATE] for s in rng.integers(a, max(b, a + 1), size=n)]


def llrs(det: SpoofDetector, crops: list[np.ndarray], policy: str) -> np.ndarray:
    if policy == "tile":
        out = det.score_arrays(crops, RATE)
        return np.array([d.calibrated if d.calibrated is not None else d.score for d in out])
    raw = []
    for c in crops:  # one at a time: the crops may differ in length
        logits = det.runner.backend(np.asarray(c, np.float32)[None])
        raw.append(float(logits[0, 1] - logits[0, 0]))
    cal = det.calibrate(np.array(raw))
    return np.array(raw) if cal is None else np.asarray(cal)


def figures(bona: np.ndarray, spoof: np.ndarray | None, thr: float) -> dict:
    out = {"n_bonafide": len(bona), "bonafide_called_spoof": round(float(np.mean(bona < thr)), 4)}
    if spoof is not None:
        out.update(
            n_spoof=len(spoof),
            spoof_called_bonafide=round(float(np.mean(spoof >= thr)), 4),
            eer=round(float(eer(bona, spoof)[0]), 4),
        )
        out["errors_at_threshold"] = round(out["bonafide_called_spoof"] + out["spoof_called_bonafide"], 4)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundle")
    ap.add_argument("--engine", default="data/voxguard-engine-l")
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-file", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    det = SpoofDetector.from_pretrained(args.bundle)
    thr = float(det.threshold)
    shared = Path(args.shared)
    rows = engine_rows(Path(args.engine))
    sets: dict[str, list[str]] = {
        "dev_bonafide": [r["path"] for r in rows if r["split"] == "dev" and r["label"] == "bonafide"],
        "dev_spoof": [r["path"] for r in rows if r["split"] == "dev" and r["label"] == "spoof"
                      and not r["attack"].startswith("partial")],
    }
    vctk = [json.loads(x) for x in (shared / "vctk-vc" / "manifest.jsonl").open(encoding="utf-8")]
    t5 = [json.loads(x) for x in (shared / "speecht5-hifigan" / "manifest.jsonl").open(encoding="utf-8")]
    sets["vctk_bonafide"] = [str(shared / r["path"]) for r in vctk if r.get("label", "bonafide") == "bonafide"]
    sets["samecorpus_spoof"] = [str(shared / r["path"]) for r in vctk if r.get("label") == "spoof"] + [
        str(shared / r["path"]) for r in t5
    ]
    allrows = [json.loads(x) for x in (shared / "manifest.jsonl").open(encoding="utf-8")]
    sets["test_other"] = [str(shared / r["path"]) for r in allrows if r["corpus"] == "librispeech-test-other"]
    rng = np.random.default_rng(args.seed)
    crops = {k: [c for p in tqdm(v, desc=f"crops {k}", unit="file") for c in crops_of(p, args.per_file, rng)]
             for k, v in sets.items()}
    result: dict = {"bundle": args.bundle, "threshold": thr, "per_file": args.per_file, "seed": args.seed,
                    "crops": {k: len(v) for k, v in crops.items()}, "policies": {}}
    for policy in ("tile", "as_is"):
        c0 = time.process_time()
        s = {k: llrs(det, v, policy) for k, v in crops.items()}
        result["policies"][policy] = {
            "dev": figures(s["dev_bonafide"], s["dev_spoof"], thr),
            "same_corpus_validation": figures(s["vctk_bonafide"], s["samecorpus_spoof"], thr),
            "test_other_report_only": figures(s["test_other"], None, thr),
            "cpu_s": round(time.process_time() - c0, 1),
        }
        print(policy, json.dumps(result["policies"][policy]), flush=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
