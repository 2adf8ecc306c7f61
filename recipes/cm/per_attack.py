"""Per-attack EER of a CM on the engine's dev and eval splits (first 4-s window).

python recipes/cm/per_attack.py runs/cm/attm_l_s1 [--out recipes/cm/results/per_attack_attm_l_s1.json]
python recipes/cm/per_attack.py runs/cm/lcnn_wide_s1 --engine data/voxguard-engine-l   # a train_waveform.py run
python recipes/cm/per_attack.py lcnn_spec_engine --engine data/voxguard-engine-l        # a bundle

A ``train.py`` run: its averaged ``best.pt`` on its cached Whisper states (``--feats``). A
``train_waveform.py`` run (its ``best.pt``, else the latest ``ckpt.pt``) or a bundle: on the
engine's audio. Reports, per split and attack, the EER of that attack's files against the split's bona fide
files and the share detected at the split's EER threshold.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train  # noqa: E402

from voxguard.metrics.det import eer  # noqa: E402


def waveform_scores(name: str, targs: dict, engine: Path) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """Rows, dev + eval row indices and first-window log-odds of a waveform run or a bundle."""
    from features import WINDOW, engine_rows
    from train_waveform import decode, score

    from voxguard.audio.crop import tile_to
    from voxguard.models import create_model, load_pretrained

    if targs:
        run = Path(name)
        weights = run / "best.pt" if (run / "best.pt").is_file() else run / "ckpt.pt"
        model = create_model(targs["model"])
        model.load_state_dict(torch.load(weights, weights_only=True)["model"])
    else:
        model = load_pretrained(name)
    rows = [r for r in engine_rows(engine) if Path(r["path"]).is_file()]
    idx = np.array([i for i, r in enumerate(rows) if r["split"] in ("dev", "eval")])
    windows = np.stack([tile_to(decode(rows[i]["path"]), WINDOW) for i in idx])
    return rows, idx, score(model, windows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--out", default=None)
    ap.add_argument("--engine", default="data/voxguard-engine-l", help="for waveform runs and bundles")
    args = ap.parse_args()
    torch.set_num_threads(1)
    run = Path(args.run)
    targs = json.loads((run / "args.json").read_text()) if (run / "args.json").is_file() else {}
    if "feats" in targs:  # a cached-feature train.py run
        best = torch.load(run / "best.pt", weights_only=False)
        model = train.build(argparse.Namespace(merge=targs["merge"], backend=targs.get("backend"), model=targs["model"]))
        model.load_state_dict(best["model"], strict=False)
        states, rows = train.load(targs["feats"])
        idx = np.array([i for i, r in enumerate(rows) if r["split"] in ("dev", "eval")])
        s = train.score(model, states, idx, best["levels"])
    else:
        rows, idx, s = waveform_scores(args.run, targs, Path(args.engine))
    bona = np.array([rows[i]["label"] == "bonafide" for i in idx])
    attack = np.array([rows[i]["attack"] for i in idx])
    split = np.array([rows[i]["split"] for i in idx])
    out: dict[str, dict] = {}
    for sp in ("dev", "eval"):
        b = s[(split == sp) & bona]
        thr = eer(b, s[(split == sp) & ~bona])[1]
        for a in sorted(set(attack[(split == sp) & ~bona])):
            x = s[(split == sp) & (attack == a)]
            out.setdefault(sp, {})[a] = {"n": len(x), "eer": float(eer(b, x)[0]), "detected_at_eer_threshold": float(np.mean(x < thr))}
            print(sp, a, len(x), f"EER {out[sp][a]['eer']:.3f}", f"detected {out[sp][a]['detected_at_eer_threshold']:.2f}")
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
