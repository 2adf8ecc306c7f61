"""What-if: the shipped LCNN bundle fused with a Whisper SpAArSIST back-end (report only).

    python recipes/cm/fusion_whisper_probe.py runs/cm/spaarsist_base_k03_l_s1 \
        --feats runs/cm/feats_s0,runs/cm/feats_s1 --out recipes/cm/results/fusion_whisper_probe.json

The LCNN bundle (no pretrained model) and the Whisper tiny.en CMs fail differently: the LCNNs
keep real speech from other corpora bona fide but miss most ``vctk-vc`` conversions; the Whisper
SpAArSIST base separates those conversions (EER 0.0 %) but rejects a third of test-other at its
dev threshold. This asks whether they fail on *different files*, i.e. whether a two-score fusion
would be worth building. It cannot ship as is: the Whisper encoder alone costs 0.145x AASIST per
4 s, over the CM's budget of 0.1x.

Per file: ``s_lcnn`` = the bundle's whole-utterance raw score through the real inference path
(``SpoofDetector``, its windows and aggregation); ``s_w`` = the Whisper back-end's score on the
cached view 0 (dev / eval: a random 4-s crop; validation sets: the first 4 s). Fusion: logistic
regression on the two scores, z-scored with dev statistics, fitted on the engine dev split only.
A sweep of the Whisper weight on the z-scores (0 to 1) is written too: it reads the validation
sets at every weight, so it is an upper bound on a fusion, never a choice. Every arm is reported
with ``train.metrics`` (its own dev EER threshold for the rates), so the
three rows read alike; figures of the LCNN alone differ from ``evaluate.py``'s, which use the
bundle's shipped threshold.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from tqdm import tqdm
from train import VALIDATION_SETS, load, load_run, metrics, score

from voxguard.api import SpoofDetector

BUNDLE = "lcnn_triplesam_engine"


def whisper_scores(run: Path, states, groups: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    model, best = load_run(run)
    levels = list(range(len(best["levels"])))
    return {k: score(model, states, v, levels) for k, v in groups.items()}


def lcnn_scores(rows: list[dict], groups: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    det = SpoofDetector.from_pretrained(BUNDLE, num_threads=1)
    paths = sorted({rows[i]["path"] for v in groups.values() for i in v})
    raw = {}
    for p in tqdm(paths, desc=f"{BUNDLE} (real inference path)", unit="file"):
        raw[p] = det.score_file(p).score
    return {k: np.array([raw[rows[i]["path"]] for i in v]) for k, v in groups.items()}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("run", type=Path, help="train.py run folder of the Whisper back-end (best.pt)")
    ap.add_argument("--feats", required=True)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0, c0 = time.time(), time.process_time()
    states, rows = load(args.feats)
    groups = {
        s: [i for i, r in enumerate(rows) if r["split"] == s and r["view"] == 0]
        for s in ("dev", "eval")
    }
    for k in VALIDATION_SETS:
        groups[k] = [i for i, r in enumerate(rows) if r.get("set") == k and r["view"] == 0]
    groups = {k: np.array(v) for k, v in groups.items()}
    s_w = whisper_scores(args.run, states, groups)
    s_l = lcnn_scores(rows, groups)
    bona_dev = np.array([rows[i]["label"] == "bonafide" for i in groups["dev"]])
    mu = np.array([s_l["dev"].mean(), s_w["dev"].mean()])
    sd = np.array([s_l["dev"].std(), s_w["dev"].std()])

    def feats(k: str) -> np.ndarray:
        return (np.stack([s_l[k], s_w[k]], axis=1) - mu) / sd

    lr = LogisticRegression(C=1.0).fit(feats("dev"), bona_dev.astype(int))
    zs = {k: feats(k) for k in groups}
    fused = {k: lr.decision_function(z) for k, z in zs.items()}
    arms = {f"{BUNDLE} alone": s_l, f"Whisper {args.run.name} alone": s_w, "fusion": fused}
    result = {
        "run": str(args.run),
        "bundle": BUNDLE,
        "files": {k: len(v) for k, v in groups.items()},
        "fusion_weights_on_z_scores": {
            "lcnn": float(lr.coef_[0, 0]),
            "whisper": float(lr.coef_[0, 1]),
            "bias": float(lr.intercept_[0]),
        },
        "score_correlation_dev": float(np.corrcoef(s_l["dev"], s_w["dev"])[0, 1]),
        "arms": {name: metrics(s, rows, groups) for name, s in arms.items()},
        "wall_s": round(time.time() - t0, 1),
        "cpu_s": round(time.process_time() - c0, 1),
    }
    # Upper bound, not a selection: every weight is read on the validation sets.
    result["weight_sweep_upper_bound"] = [
        {
            "whisper_weight": w,
            **metrics({k: (1 - w) * z[:, 0] + w * z[:, 1] for k, z in zs.items()}, rows, groups),
        }
        for w in np.round(np.linspace(0.0, 1.0, 11), 2).tolist()
    ]
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    np.savez(
        args.out.with_suffix(".scores.npz"),
        **{f"{arm}/{k}": v for arm, d in (("lcnn", s_l), ("whisper", s_w)) for k, v in d.items()},
        **{f"utt/{k}": np.array([rows[i]["utt"] for i in v]) for k, v in groups.items()},
    )
    keys = (
        "dev_eer",
        "eval_eer",
        "same_corpus_validation_eer",
        "vctk_vc_eer",
        "speecht5_vs_vctk_bona_eer",
        "speecht5-hifigan_spoof_detected_at_dev_thr",
        "vctk-vc_spoof_detected_at_dev_thr",
        "vctk-vc_bona_rejected_at_dev_thr",
        "librispeech-test-other_bona_rejected_at_dev_thr",
        "ami-excerpts_bona_rejected_at_dev_thr",
        "fsdd-heldout_bona_rejected_at_dev_thr",
    )
    print("arm | " + " | ".join(keys))
    for name, m in result["arms"].items():
        print(name + " | " + " | ".join(f"{100 * m.get(k, float('nan')):.1f}" for k in keys))
    for m in result["weight_sweep_upper_bound"]:
        print(
            f"w {m['whisper_weight']:.1f} | "
            + " | ".join(f"{100 * m.get(k, float('nan')):.1f}" for k in keys)
        )


if __name__ == "__main__":
    main()
