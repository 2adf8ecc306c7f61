"""Train the SpAArSIST backend variants on cached frozen Whisper tiny.en features.

Usage (from the repository root, after ``whisper_features.py``)::

    python recipes/mini/train_backends.py [--feats data/voxguard-mini-whisper] \
        [--out runs/mini_whisper] [--epochs 3] [--lr 1e-3] [--batch 8] \
        [--variants rank1 mag mean base] [--sweep 0.1 0.3 0.5] [--threads 2] \
        [--train-feats data/voxguard-mini-plus-whisper]

``--train-feats`` takes the training split from another feature folder (the larger
voxguard-mini-plus training set, see the README); dev and eval always come from ``--feats``.

Per variant: Adam (weight decay 1e-4, constant lr 1e-3: ten times the paper's 1e-4, so that the
backends learn in the 3 epochs this shared CPU affords), batches of ``--batch`` utterances drawn at
random, half bona fide and half spoof (class-balanced), one random crop of 100-200 frames (2-4 s at
50 frames/s) per batch, plain cross-entropy, ``--epochs`` passes of 216 / batch steps, seeded. The
final weights (no checkpoint selection) score the full 200-frame dev (seen attacks A01-A06) and
eval (unseen A07-A12, codecs) features; score = logit[1] - logit[0]. Writes, per variant
``<out>/<name>/``: ``scores_dev.tsv``, ``scores_eval.tsv`` (ASVspoof 5 format), ``model.pt``,
``metrics.json`` (train loss per epoch, wall time, dev/eval metrics with per-attack / per-codec
breakdowns). Then the ``--sweep`` k_infer values re-score the eval set with the variant of lowest
dev EER (the weights do not depend on k: the model is rebuilt with ``k_infer`` overridden and the
weights loaded).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from voxguard.data.scorefiles import write_cm_scores
from voxguard.evaluation.breakdown import breakdown
from voxguard.evaluation.cm import cm_metrics
from voxguard.models import create_model

VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "base": ("spaarsist_base", {}),
    "mag": ("spaarsist_mag", {}),
    "mean": ("spaarsist_base", {"stack_aggregation": "mean"}),
    "rank1": ("spaarsist_rank1", {}),
}
IN_DIM = 384


def load_split(folder: Path, split: str) -> tuple[torch.Tensor, list[dict[str, Any]]]:
    """Cached features ``(N, 200, 384)`` float32 and the protocol rows of one split."""
    feats = torch.from_numpy(np.load(folder / f"{split}.npy").astype(np.float32))
    return feats, json.loads((folder / f"{split}.json").read_text())


def build(variant: str, **extra: Any) -> nn.Module:
    """The backend of ``variant`` on 384-d Whisper tiny.en features."""
    name, overrides = VARIANTS[variant]
    return create_model(name, in_dim=IN_DIM, **overrides, **extra)


def train_one(
    model: nn.Module,
    feats: torch.Tensor,
    labels: torch.Tensor,
    epochs: int,
    lr: float,
    seed: int,
    batch: int = 8,
) -> list[float]:
    """Class-balanced training with random 2-4 s feature crops; mean loss per epoch."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    bona, spoof = torch.where(labels == 1)[0], torch.where(labels == 0)[0]
    steps, half = len(labels) // batch, batch // 2
    losses = []
    for _ in range(epochs):
        model.train()
        total = 0.0
        for _ in range(steps):
            idx = torch.cat(
                [
                    bona[torch.randint(len(bona), (half,), generator=gen)],
                    spoof[torch.randint(len(spoof), (half,), generator=gen)],
                ]
            )
            length = int(torch.randint(100, 201, (1,), generator=gen))
            start = int(torch.randint(0, feats.shape[1] - length + 1, (1,), generator=gen))
            x = feats[idx, start : start + length]
            loss = F.cross_entropy(model(x), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        losses.append(round(total / steps, 4))
    return losses


@torch.inference_mode()
def score(model: nn.Module, feats: torch.Tensor, batch: int = 24) -> np.ndarray:
    """Eval-mode scores ``logit[1] - logit[0]`` of full-length features."""
    model.eval()
    out = [model(feats[i : i + batch]) for i in range(0, len(feats), batch)]
    logits = torch.cat(out)
    return (logits[:, 1] - logits[:, 0]).double().numpy()


def evaluate(scores: np.ndarray, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Overall CM metrics plus per-attack and per-codec breakdowns."""
    labels = np.array([r["label"] for r in rows])
    m = cm_metrics(scores[labels == 1], scores[labels == 0], asv=None)
    m["by_attack"] = breakdown(scores, labels, [r["attack"] for r in rows], by="attack")
    m["by_codec"] = breakdown(scores, labels, [r["codec"] for r in rows], by="condition")
    return m


def write_scores(path: Path, rows: list[dict[str, Any]], scores: np.ndarray) -> None:
    """ASVspoof 5 score TSV (``filename cm-score``)."""
    write_cm_scores(path, [r["id"] for r in rows], scores)


def main() -> None:
    """Train every requested variant, score dev / eval, then the k_infer sweep."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feats", default="data/voxguard-mini-whisper")
    ap.add_argument("--out", default="runs/mini_whisper")
    ap.add_argument("--train-feats", default=None, help="train split from here (default --feats)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--variants", nargs="+", default=["rank1", "mag", "mean", "base"], choices=list(VARIANTS)
    )
    ap.add_argument("--sweep", nargs="*", type=float, default=[0.1, 0.3, 0.5])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    folder, out = Path(args.feats), Path(args.out)
    tr_x, tr_rows = load_split(Path(args.train_feats or args.feats), "train")
    tr_y = torch.tensor([r["label"] for r in tr_rows])
    splits = {s: load_split(folder, s) for s in ("dev", "eval")}
    dev_eer: dict[str, float] = {}
    for variant in args.variants:
        torch.manual_seed(args.seed)
        model = build(variant)
        start = time.perf_counter()
        losses = train_one(model, tr_x, tr_y, args.epochs, args.lr, args.seed, args.batch)
        wall = time.perf_counter() - start
        run = out / variant
        run.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), run / "model.pt")
        result: dict[str, Any] = {
            "variant": variant,
            "model": VARIANTS[variant][0],
            "overrides": VARIANTS[variant][1],
            "epochs": args.epochs,
            "train_feats": str(args.train_feats or args.feats),
            "train_files": len(tr_rows),
            "lr": args.lr,
            "batch": args.batch,
            "train_loss": losses,
            "train_wall_s": round(wall, 1),
        }
        for split, (x, rows) in splits.items():
            s = score(model, x)
            write_scores(run / f"scores_{split}.tsv", rows, s)
            result[split] = evaluate(s, rows)
        dev_eer[variant] = result["dev"]["eer"]
        (run / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
        print(
            f"{variant}: loss {losses} | {wall:.0f} s | dev EER {100 * result['dev']['eer']:.2f} %"
            f" | eval EER {100 * result['eval']['eer']:.2f} %",
            flush=True,
        )
    if not args.sweep:
        return
    best = min(dev_eer, key=dev_eer.get)
    state = torch.load(out / best / "model.pt", weights_only=True)
    k_train = build(best).config.k_train or build(best).config.pool_ratios[0]
    for k in args.sweep:
        model = build(best, k_train=k_train, k_infer=k)
        model.load_state_dict(state)
        run = out / f"{best}_kinfer{k:g}"
        run.mkdir(parents=True, exist_ok=True)
        result = {"variant": best, "k_train": k_train, "k_infer": k}
        x, rows = splits["eval"]
        s = score(model, x)
        write_scores(run / "scores_eval.tsv", rows, s)
        result["eval"] = evaluate(s, rows)
        (run / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
        print(f"{best} k_infer {k:g}: eval EER {100 * result['eval']['eer']:.2f} %", flush=True)


if __name__ == "__main__":
    main()
