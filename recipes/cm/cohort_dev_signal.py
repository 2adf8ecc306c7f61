"""Report only: does a dev set of many unheard LibriSpeech speakers see bona fide rejections that
the engine's four-speaker dev split does not?

python recipes/cm/cohort_dev_signal.py NAME=BUNDLE [NAME=BUNDLE ...] --engine data/voxguard-engine-l \
    --cohort-dev data/voxguard-cohort-dev --out recipes/cm/results/cohort_dev_signal.json

Every file of the engine ``dev`` split and of the cohort-dev build (``build_cohort_dev.py``: one
file of each of 100 cohort speakers, their dev-attack spoofs) is scored by each bundle as the
product scores it (``SpoofDetector.score_arrays``: windows, worst window, speech gate, the bundle's
calibration and threshold). Per bundle and set: bona fide called spoof at the bundle's threshold
(files the speech gate passes), the EER of the set's bona fide against its own spoofs, and, on
cohort-dev, the LLR of each speaker's bona fide file; between bundles, the rank correlation of those
per-speaker LLRs (do the same speakers sit low whichever model scores them?). Only bundles whose
branches never trained on the cohort-dev speakers (``train_waveform.py --hold-out``) measure
generalisation there; others are a contaminated reference. Dev data only: no test set is scored.
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
from dev_bona_floor import rank_correlation  # noqa: E402
from features import engine_rows  # noqa: E402


def set_of(row: dict, cohort: bool) -> str:
    return "cohort-dev" if cohort else f"engine-dev {row['source_corpus']}"


def summarise(rows: list[dict], llr: np.ndarray, decision: list[str]) -> dict:
    """Per set: bona fide called spoof (gate-passed files), EER of bona fide vs spoof."""
    from voxguard.metrics.det import eer

    out = {}
    for name in sorted({r["set"] for r in rows}):
        k = np.array([r["set"] == name for r in rows])
        bona = k & np.array([r["label"] == "bonafide" for r in rows])
        spoof = k & ~bona
        judged = bona & np.array([d in ("bonafide", "spoof") for d in decision])
        called = judged & np.array([d == "spoof" for d in decision])
        out[name] = {
            "n_bonafide": int(bona.sum()),
            "n_spoof": int(spoof.sum()),
            "bonafide_judged": int(judged.sum()),
            "bonafide_called_spoof": int(called.sum()),
            "bonafide_called_spoof_rate": round(float(called.sum() / max(judged.sum(), 1)), 4),
            "eer": round(float(eer(llr[bona], llr[spoof])[0]), 4) if spoof.any() else None,
        }
    return out


def signal(sets: dict, min_rate: float = 0.05, ratio: float = 3.0) -> bool:
    """The D49-CM rule for one held-out control: cohort-dev bona fide rejections >= ``min_rate`` and
    >= ``ratio`` times the engine dev LibriSpeech rate."""
    cohort = sets["cohort-dev"]["bonafide_called_spoof_rate"]
    engine = sets["engine-dev librispeech-mini"]["bonafide_called_spoof_rate"]
    return cohort >= min_rate and cohort >= ratio * engine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "bundles", nargs="+", metavar="NAME=BUNDLE", help="a label and a bundled name or folder"
    )
    ap.add_argument("--engine", required=True)
    ap.add_argument("--cohort-dev", required=True)
    ap.add_argument(
        "--held-out",
        default="",
        help="comma-separated labels of bundles trained without the cohort-dev speakers",
    )
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    from voxguard.api import SpoofDetector
    from voxguard.audio.io import load_audio

    pairs = [b.split("=", 1) for b in args.bundles]
    if any(len(p) != 2 for p in pairs):
        sys.exit("bundles are NAME=BUNDLE, e.g. control_s1=runs/cm/RUN/bundle/NAME")
    held = {h for h in args.held_out.split(",") if h}
    if held - {n for n, _ in pairs}:
        sys.exit(f"--held-out {sorted(held)}: not among the bundle labels")
    rows = []
    for build, cohort in ((Path(args.engine), False), (Path(args.cohort_dev), True)):
        if not (build / "manifest.jsonl").is_file():
            sys.exit(f"{build}: no manifest.jsonl; build it first")
        rows += [{**r, "set": set_of(r, cohort)} for r in engine_rows(build) if r["split"] == "dev"]
    waves = [load_audio(r["path"], 16000)[0] for r in tqdm(rows, desc="decode dev", unit="file")]
    report: dict = {"engine": args.engine, "cohort_dev": args.cohort_dev, "bundles": {}}
    per_speaker: dict[str, np.ndarray] = {}
    cohort_bona = [
        i for i, r in enumerate(rows) if r["set"] == "cohort-dev" and r["label"] == "bonafide"
    ]
    for name, bundle in pairs:
        t0 = time.process_time()
        res = SpoofDetector.from_pretrained(bundle).score_arrays(
            waves, labels=[r["path"] for r in rows]
        )
        llr = np.array([float(d.decision_score) for d in res])
        sets = summarise(rows, llr, [d.decision for d in res])
        entry = {
            "bundle": bundle,
            "held_out": name in held,
            "sets": sets,
            "cpu_s": round(time.process_time() - t0),
        }
        if name in held:
            entry["signal"] = signal(sets)
        per_speaker[name] = llr[cohort_bona]
        entry["cohort_dev_llr"] = {rows[i]["speaker"]: round(float(llr[i]), 3) for i in cohort_bona}
        report["bundles"][name] = entry
        print(
            name,
            json.dumps({k: v for k, v in entry.items() if k not in ("cohort_dev_llr",)}),
            flush=True,
        )
    names = list(per_speaker)
    report["speaker_llr_rank_correlation"] = {
        f"{a}~{b}": round(rank_correlation(per_speaker[a], per_speaker[b]), 3)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    }
    print(json.dumps(report["speaker_llr_rank_correlation"]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
