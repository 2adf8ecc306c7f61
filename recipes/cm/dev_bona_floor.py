"""Report only: does a clean recording floor make a CM bundle call genuine dev speech spoof?

python recipes/cm/dev_bona_floor.py lcnn_triplekok_engine --engine data/voxguard-engine-l \
    --out recipes/cm/results/dev_bona_floor.json

Every bona fide file of the engine ``dev`` split (unseen speakers, seen channels) is scored as
the product scores it (``SpoofDetector.score_arrays``: windows, worst window, speech gate, the bundle's
calibration and threshold), and its noise floor measured: the 10th percentile of its 25-ms frame
RMS levels, in dBFS. Per source corpus, the files are split into floor terciles, each with its
rejections at the threshold and median LLR, plus the rank correlation of floor and LLR. The
noise-floor arms (``train_waveform.py --floor``) rest on the hypothesis that a clean floor is read
as "spoof"; this asks the dev split, the only one selection may use, whether it shows that.
Nothing here chooses anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from features import engine_rows  # noqa: E402

FRAME = 400  # 25 ms at 16 kHz


def floor_dbfs(x: np.ndarray) -> float:
    """The 10th percentile of ``x``'s 25-ms frame RMS levels, in dBFS (a file's noise floor)."""
    frames = x[: len(x) // FRAME * FRAME].reshape(-1, FRAME)
    rms = np.sqrt((frames.astype(np.float64) ** 2).mean(1))
    return float(20 * np.log10(np.percentile(rms, 10) + 1e-12))


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho (no ties expected: continuous floors and scores)."""
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", help="CM bundle: bundled name or folder")
    ap.add_argument("--engine", required=True, help="engine build (its manifest.jsonl lists the dev split)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    from voxguard.api import SpoofDetector
    from voxguard.audio.io import load_audio

    engine = Path(args.engine)
    if not (engine / "manifest.jsonl").is_file():
        sys.exit(f"{engine}: no manifest.jsonl; build it with `voxguard data synth` first")
    rows = [r for r in engine_rows(engine) if r["split"] == "dev" and r["label"] == "bonafide"]
    # each file decoded once: its floor is measured and it is scored from the same samples
    waves = [load_audio(r["path"], 16000)[0] for r in tqdm(rows, desc="dev bona fide", unit="file")]
    results = SpoofDetector.from_pretrained(args.bundle).score_arrays(waves, labels=[r["path"] for r in rows])
    files = []
    for r, wave, res in zip(rows, waves, results, strict=True):
        if res.decision not in ("bonafide", "spoof"):  # no_speech: the gate decided, not the CM
            continue
        files.append({"utt": r["utt"], "source_corpus": r["source_corpus"], "channel": r["channel"],
                      "floor_dbfs": round(floor_dbfs(wave), 2),
                      "llr": round(float(res.decision_score), 4), "called_spoof": res.decision == "spoof"})
    report: dict = {"bundle": args.bundle, "engine": str(engine), "n_files": len(files), "by_corpus": {}}
    for corpus in sorted({f["source_corpus"] for f in files}):
        fs = [f for f in files if f["source_corpus"] == corpus]
        floor = np.array([f["floor_dbfs"] for f in fs])
        llr = np.array([f["llr"] for f in fs])
        called = np.array([f["called_spoof"] for f in fs])
        edges = np.quantile(floor, [1 / 3, 2 / 3])
        terciles = []
        for name, k in (("cleanest", floor < edges[0]), ("middle", (floor >= edges[0]) & (floor < edges[1])),
                        ("noisiest", floor >= edges[1])):
            terciles.append({"tercile": name, "n": int(k.sum()), "floor_dbfs": [float(floor[k].min()), float(floor[k].max())],
                             "called_spoof": int(called[k].sum()),
                             "median_llr": round(float(np.median(llr[k])), 3)})
        report["by_corpus"][corpus] = {"n": len(fs), "called_spoof": int(called.sum()),
                                       "spearman_floor_llr": round(rank_correlation(floor, llr), 3),
                                       "terciles": terciles}
    report["files"] = files
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report["by_corpus"], indent=1))


if __name__ == "__main__":
    main()
