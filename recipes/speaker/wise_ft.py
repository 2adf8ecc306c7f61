"""Weight-space interpolation of a fine-tune with its start (WiSE-FT; README "Halfway back").

Wortsman, Ilharco et al., "Robust fine-tuning of zero-shot models", CVPR 2022: fine-tuning gains
on the training distribution and loses under distribution shift; the weights
``(1 - alpha) theta_start + alpha theta_fine-tuned`` (every floating-point parameter and buffer,
batch-norm statistics included, nothing re-estimated:
``voxguard.training.spk_distill.weight_soup`` with weights ``[1 - alpha, alpha]``) keep much of
the gain and recover robustness; alpha 0.5 is their choice when no shifted validation set is
used. Meaningful only for a fine-tune of the start (the same basin).

For each alpha the interpolant is scored as training scores its checkpoints (``dev_eers`` on the
cache's dev sets: the 72-utterance curve set and the 38-speaker ``dev_full`` set) and written as a
weights directory ``OUT_DIR/alpha_<a>`` whose card names both ingredients and their sha256;
the figures go to ``OUT_DIR/wise_ft.json``.

Usage: python wise_ft.py CACHE_DIR OUT_DIR RUN_DIR [--start bccmt_tiny_ge2e_kd] [--alpha 0.5 ...]
(RUN_DIR: a distillation run from ``--start``; its ``best/`` weights are the fine-tune)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from voxguard.integrity import sha256_of
from voxguard.models import load_pretrained, save_pretrained
from voxguard.models._hub import resolve_pretrained_dir
from voxguard.training.spk import FeatureCache
from voxguard.training.spk_distill import dev_eers, weight_soup


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cache_dir")
    ap.add_argument("out_dir")
    ap.add_argument("run_dir")
    ap.add_argument("--start", default="bccmt_tiny_ge2e_kd")
    ap.add_argument("--alpha", type=float, nargs="+", default=[0.5])
    args = ap.parse_args()
    for a in args.alpha:
        if not 0.0 <= a <= 1.0:
            raise SystemExit(f"--alpha {a}: use a value in [0, 1] (0: the start, 1: the fine-tune)")
    cache, run, out = Path(args.cache_dir), Path(args.run_dir), Path(args.out_dir)
    card_file = run / "best" / "config.json"
    if not card_file.is_file():
        raise SystemExit(
            f"{run}: no best/config.json: give a distillation run directory (train.py)"
        )
    tuned_card = json.loads(card_file.read_text()).get("card", {})
    started = tuned_card.get("distill", {}).get("init_from")
    if started != args.start:
        raise SystemExit(
            f"{run}: its card says it started from {started!r}, not {args.start!r}: "
            "interpolate a fine-tune with its own start (--start)"
        )
    torch.set_num_threads(1)
    t0, c0 = time.time(), time.process_time()
    dev = FeatureCache.load(cache / "dev.safetensors")
    dev_full = FeatureCache.load(cache / "dev_full.safetensors")
    start_net = load_pretrained(args.start).eval()
    start_state = {k: v.clone() for k, v in start_net.state_dict().items()}
    tuned_state = load_pretrained(run / "best").state_dict()
    ingredients = {
        "start": {
            "name": args.start,
            "sha256": sha256_of(resolve_pretrained_dir(args.start) / "model.safetensors"),
        },
        "fine_tuned": {
            "file": f"{run.name}/best/model.safetensors",
            "sha256": sha256_of(run / "best" / "model.safetensors"),
            "step": tuned_card.get("train_step"),
            "weights": tuned_card.get("weights", "trained"),
        },
    }
    base_card = getattr(start_net, "card", {}) or {}
    rows = []
    for a in args.alpha:
        start_net.load_state_dict(weight_soup([start_state, tuned_state], [1.0 - a, a]))
        curve, full = dev_eers(start_net, dev, dev_full)
        row = {"alpha": a, "dev_eer_pct": round(curve, 3), "dev_full_eer_pct": round(full, 3)}
        rows.append(row)
        print(
            f"alpha {a:4.2f}: curve {row['dev_eer_pct']:6.3f}  dev_full {row['dev_full_eer_pct']:6.3f}"
        )
        card = {
            **{k: base_card[k] for k in ("sample_rate", "frontend", "teacher") if k in base_card},
            "wise_ft": {**ingredients, **row},
        }
        save_pretrained(start_net, out / f"alpha_{a:g}", card)
    report = {
        "method": "WiSE-FT (Wortsman, Ilharco et al., CVPR 2022): (1 - alpha) start + alpha fine-tune, "
        "every floating-point parameter and buffer",
        **ingredients,
        "rows": rows,
        "wall_s": round(time.time() - t0, 1),
        "cpu_s": round(time.process_time() - c0, 1),
    }
    (out / "wise_ft.json").write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
