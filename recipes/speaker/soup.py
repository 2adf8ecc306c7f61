"""Model soups of fine-tunes that start from one set of weights (README "Model soup").

Candidates: the starting weights (``--base``, a bundle name or weights directory) and, per run
directory, its ``best/`` weights and its final trained and final averaged (EMA) weights from
``last.pt``. Two soups (``voxguard.training.spk_distill.weight_soup``):

- ``uniform``: the base + every run's final averaged weights (no dev selection inside it);
- ``greedy``: Wortsman et al.'s recipe — candidates sorted by their own ``dev_full`` EER, start
  from the best, add the next (re-averaging uniformly over those kept) only if ``dev_full`` does
  not rise.

Every candidate and soup is scored as training scores it (``dev_eers``: the 72-utterance curve
set and the 38-speaker ``dev_full`` set, cosine of full-length embeddings). Both soups are
written as weights directories (``OUT/uniform``, ``OUT/greedy``) whose card names the
ingredients and their sha256, and the figures to ``OUT/soup.json``.

Usage: python soup.py CACHE_DIR OUT_DIR RUN_DIR... [--base bccmt_tiny_ge2e_kd]
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


def candidates(base: str, runs: list[Path]) -> list[dict]:
    """``name, state, source`` of every candidate (see the module docstring)."""
    base_dir = resolve_pretrained_dir(base)
    out = [
        {
            "name": f"base:{base}",
            "state": load_pretrained(base).state_dict(),
            "source": {"file": str(base), "sha256": sha256_of(base_dir / "model.safetensors")},
        }
    ]
    for run in runs:
        last = torch.load(run / "last.pt", map_location="cpu", weights_only=True)
        step = int(last["state"]["step"])
        src = {"file": f"{run.name}/last.pt", "sha256": sha256_of(run / "last.pt"), "step": step}
        if "ema" in last:
            out.append({"name": f"{run.name}:final_ema", "state": last["ema"], "source": src})
        out.append({"name": f"{run.name}:final_trained", "state": last["model"], "source": src})
        card = json.loads((run / "best" / "config.json").read_text())["card"]
        out.append(
            {
                "name": f"{run.name}:best",
                "state": load_pretrained(run / "best").state_dict(),
                "source": {
                    "file": f"{run.name}/best/model.safetensors",
                    "sha256": sha256_of(run / "best" / "model.safetensors"),
                    "step": card["train_step"],
                    "weights": card.get("weights", "trained"),
                },
            }
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cache_dir")
    ap.add_argument("out_dir")
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--base", default="bccmt_tiny_ge2e_kd")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0, c0 = time.time(), time.process_time()
    cache = Path(args.cache_dir)
    dev = FeatureCache.load(cache / "dev.safetensors")
    dev_full = FeatureCache.load(cache / "dev_full.safetensors")
    net = load_pretrained(args.base).eval()

    def score(state: dict) -> dict:
        net.load_state_dict(state, strict=True)
        curve, full = dev_eers(net, dev, dev_full)
        return {"dev_eer_pct": round(curve, 3), "dev_full_eer_pct": round(full, 3)}

    cands = candidates(args.base, [Path(r) for r in args.runs])
    for c in cands:
        c.update(score(c["state"]))
        print(
            f"{c['name']:40s} curve {c['dev_eer_pct']:6.3f}  dev_full {c['dev_full_eer_pct']:6.3f}"
        )
    by_name = {c["name"]: c for c in cands}

    uniform_names = [cands[0]["name"]] + [
        c["name"] for c in cands if c["name"].endswith(":final_ema")
    ]
    uniform = {
        "members": uniform_names,
        **score(weight_soup([by_name[n]["state"] for n in uniform_names])),
    }

    ranked = sorted(cands, key=lambda c: c["dev_full_eer_pct"])
    kept, steps = [ranked[0]["name"]], []
    current = {k: ranked[0][k] for k in ("dev_eer_pct", "dev_full_eer_pct")}  # the kept soup's
    for c in ranked[1:]:
        trial = score(weight_soup([by_name[n]["state"] for n in [*kept, c["name"]]]))
        added = trial["dev_full_eer_pct"] <= current["dev_full_eer_pct"]
        steps.append({"candidate": c["name"], **trial, "added": added})
        print(
            f"greedy + {c['name']:30s} dev_full {trial['dev_full_eer_pct']:6.3f} {'kept' if added else '-'}"
        )
        if added:
            kept.append(c["name"])
            current = trial
    greedy = {"members": kept, "steps": steps, **current}  # scored when it was kept

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base_card = getattr(load_pretrained(args.base), "card", {}) or {}
    for name, soup in (("uniform", uniform), ("greedy", greedy)):
        net.load_state_dict(weight_soup([by_name[n]["state"] for n in soup["members"]]))
        card = {
            **{k: base_card[k] for k in ("sample_rate", "frontend", "teacher") if k in base_card},
            "soup": {
                "kind": name,
                "members": [{"name": n, **by_name[n]["source"]} for n in soup["members"]],
                "dev_eer_pct": soup["dev_eer_pct"],
                "dev_full_eer_pct": soup["dev_full_eer_pct"],
            },
        }
        save_pretrained(net, out / name, card)
        print(
            f"{name}: {len(soup['members'])} members, curve {soup['dev_eer_pct']}, dev_full {soup['dev_full_eer_pct']}"
        )
    record = {
        "base": args.base,
        "runs": [str(Path(r).name) for r in args.runs],
        "candidates": [
            {k: c[k] for k in ("name", "source", "dev_eer_pct", "dev_full_eer_pct")} for c in cands
        ],
        "uniform": uniform,
        "greedy": greedy,
        "wall_s": round(time.time() - t0, 1),
        "cpu_s": round(time.process_time() - c0, 1),
    }
    (out / "soup.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
