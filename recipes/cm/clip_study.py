"""Saturating fusion: clip each branch's window log-odds to [-c, c] before a fixed linear fusion.

python recipes/cm/clip_study.py --branch runs/cm/lcnn_spec_kok_s1 --branch runs/cm/lcnn_wide_sam_s2_shipped \
    --branch runs/cm/lcnn_widephase_shipped --weights 1,2,0.05 --engine data/voxguard-engine-l \
    --cache runs/cm/fusion --out recipes/cm/results/clip_study.json

Why: a genuine utterance of another corpus is rejected when one branch calls one window very
spoof; with every branch's vote bounded, the fused score needs agreement. The branches and their
fusion weights stay as shipped; only ``c`` moves (``none`` = the shipped linear fusion).

``--ship NAME --bundle BUNDLE``: BUNDLE (the fused bundle whose leaf branches are the runs given,
in order) rewritten with the chosen ``c`` on every leaf branch (``FusedCMConfig.clip``; a nested
fusion's own output is not clipped again), its dev calibration refitted through the inference
path (``ship.calibrated_save``), written to ``runs/cm/clip/bundle/NAME``.

The figures are ``fuse.py``'s worst-window approximation on the cached window log-odds of the
selection files (engine ``dev`` + the validation sets; the engine eval split is never read), with
``fuse.selection_figures``; the chosen ``c`` is the grid's minimum of the criterion (ties: the
larger ``c``, the smaller change). A bundle is then built and measured through the real inference
path (``select_bundle.py``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from fuse import cached, load_branch, selection_figures, worst
from select_bundle import selection_files
from ship import calibrated_save, carried_card

from voxguard.models import create_model, load_pretrained
from voxguard.models._hub import read_config, resolve_pretrained_dir


def clipped_fusion(
    branch_scores: list[np.ndarray], weights: list[float], c: float | None
) -> np.ndarray:
    """``sum_i w_i clip(s_i, -c, c)`` per window (``c`` None: no clip)."""
    bound = np.inf if c is None else c
    return sum(w * np.clip(s, -bound, bound) for w, s in zip(weights, branch_scores, strict=True))


def with_leaf_clip(config: dict, c: float) -> tuple[dict, list[float]]:
    """A fused bundle's config with every leaf branch clipped to ``[-c, c]``, and the leaves'
    effective fusion weights (the product down the tree), in order."""
    clip, leaves, branch_configs = [], [], []
    for name, sub, w in zip(
        config["branches"], config["branch_configs"], config["weights"], strict=True
    ):
        if name == "fused_attm_lcnn":
            sub, inner = with_leaf_clip(sub, c)
            clip.append(None)
            leaves += [w * x for x in inner]
        else:
            clip.append(c)
            leaves.append(w)
        branch_configs.append(sub)
    return {**config, "branch_configs": branch_configs, "clip": clip}, leaves


def ship(
    bundle: str, name: str, c: float, weights: list[float], engine: Path, result: dict
) -> Path:
    meta = read_config(resolve_pretrained_dir(bundle))
    if meta["model"] != "fused_attm_lcnn":
        raise SystemExit(f"{bundle}: not a fused bundle ({meta['model']})")
    config, leaves = with_leaf_clip(meta["config"], c)
    if not np.allclose(leaves, weights):
        raise SystemExit(f"{bundle}: its leaf weights {leaves} are not the study's {weights}")
    model = create_model("fused_attm_lcnn", **config).eval()
    model.load_state_dict(load_pretrained(bundle).state_dict())
    card = carried_card(meta["card"])
    card["score"] = (
        f"every branch's log-odds clipped to [-{c:g}, {c:g}] before the fusion (clip_study.py); "
        + card.get("score", "")
    )
    card["fusion_clip"] = {
        "clip": c,
        "of": Path(bundle).name,
        "chosen_by": result["criterion"] + " (clip_study.py grid)",
        "grid_file": result["grid_file"],
    }
    target = Path("runs/cm/clip/bundle") / name
    calibrated_save(model, card, engine, target, name)
    return target


def plot(grid: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    finite = [g for g in grid if g["clip"] is not None]
    none = next(g for g in grid if g["clip"] is None)
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, lab in (
        ("dev_eer", "dev EER"),
        ("same_corpus_validation_eer", "same-corpus validation EER"),
        ("dev_partial_missed", "dev partial spoofs missed"),
        ("selection_partial", "criterion (sum of the three)"),
    ):
        (line,) = ax.plot(
            [g["clip"] for g in finite], [g[key] for g in finite], marker="o", ms=3, label=lab
        )
        ax.axhline(none[key], color=line.get_color(), ls=":", lw=1)
    ax.set(
        xscale="log",
        xlabel="clip c of each branch's log-odds (dotted: no clip, as shipped)",
        ylabel="EER / share / criterion",
        title="saturating fusion: worst window of sum w_i clip(s_i, ±c)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--branch",
        action="append",
        required=True,
        help="train_waveform.py run directory, in fusion order",
    )
    ap.add_argument(
        "--weights", required=True, help="fusion weight of each branch, comma-separated"
    )
    ap.add_argument("--clips", default="0.5,1,1.5,2,3,4,6,8,12,none")
    ap.add_argument("--engine", default="data/voxguard-engine-l")
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--cache", default="runs/cm/fusion")
    ap.add_argument("--out", required=True)
    ap.add_argument(
        "--bundle",
        default=None,
        help="the fused bundle whose leaves are the branches (with --ship)",
    )
    ap.add_argument("--ship", default=None, help="bundle name to write with the chosen clip")
    args = ap.parse_args()
    if args.ship and not args.bundle:
        ap.error("--ship needs --bundle")
    torch.set_num_threads(1)
    weights = [float(w) for w in args.weights.split(",")]
    if len(weights) != len(args.branch):
        ap.error(f"{len(args.branch)} branches but {len(weights)} weights")
    dev, val = selection_files(Path(args.engine), Path(args.shared))
    files = [r["file"] for r in dev] + [f for f, _, _ in val]
    scores, counts = [], None
    for b in map(Path, args.branch):
        s, n = cached(Path(args.cache) / f"{b.name}.npz", lambda b=b: load_branch(b), files)
        assert counts is None or (n == counts).all(), f"{b}: other window counts"
        scores.append(s)
        counts = n
    grid = []
    for c in [None if v == "none" else float(v) for v in args.clips.split(",")]:
        grid.append(
            {
                "clip": c,
                **selection_figures(worst(clipped_fusion(scores, weights, c), counts), dev, val),
            }
        )
        print(
            json.dumps(
                {
                    k: (round(v, 4) if isinstance(v, float) else v)
                    for k, v in grid[-1].items()
                    if k != "pairs"
                }
            ),
            flush=True,
        )
    # ties: the larger c (None, no clip, counts as the largest)
    best = min(
        reversed(sorted(grid, key=lambda g: np.inf if g["clip"] is None else g["clip"])),
        key=lambda g: g["selection_partial"],
    )
    out = Path(args.out)
    result = {
        "branches": args.branch,
        "weights": weights,
        "grid": grid,
        "best": best,
        "criterion": "selection_partial",
        "n_dev": len(dev),
        "n_validation": len(val),
        "windows": int(counts.sum()),
        "grid_file": out.name,
    }
    out.write_text(json.dumps(result, indent=1) + "\n")
    plot(grid, out.with_suffix(".png"))
    print("best", json.dumps({k: v for k, v in best.items() if k != "pairs"}))
    if args.ship:
        if best["clip"] is None:
            raise SystemExit("no clip is best on the criterion: nothing to ship")
        print(
            "bundle written to",
            ship(args.bundle, args.ship, best["clip"], weights, Path(args.engine), result),
        )


if __name__ == "__main__":
    main()
