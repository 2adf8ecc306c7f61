"""Train a CM backend (layer merge + backend) on cached frozen-Whisper states; curves, selection.

python recipes/cm/train.py --feats runs/cm/feats --out runs/cm/rank1_ws_s0 \
    [--model spaarsist_rank1_whisper_tiny] [--merge weighted_sum] [--levels 0,1,2,3,4] \
    [--steps 3000] [--batch 32] [--lr 3e-4] [--seed 0] [--mixup 0.0]

Training rows are the engine's ``train`` split only (both views); ``dev`` (seen attacks, unseen
speakers) and the validation sets (SpeechT5, vctk-vc, AMI, test-other, held-out FSDD: first
4-s window) are scored every ``--eval-every`` steps for the learning curves. Checkpoints are
selected on ``dev EER + same-corpus validation EER`` (never on the engine's eval split, which is
scored only for the final table), and the best ``--average`` checkpoints are averaged.
(``SELECTION_VALIDATION``: runs before 2026-12-02 evening used the pooled validation EER, which
includes LibriSpeech test-other and FSDD as bona fide and so rewards a corpus detector; the
criterion is now dev EER + the same-corpus validation EER: VCTK + AMI bona fide vs SpeechT5 +
VCTK conversions.)

Writes ``log.jsonl`` (losses, every evaluation, wall and CPU time), ``curves.png``,
``ckpt.pt`` (resume), ``best.pt`` (averaged selection) and ``summary.json``. Creating ``OUT/STOP``
ends the run at the next step (after a plateau of the dev curve): the best evaluations so far
are averaged as at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from voxguard.metrics.det import eer
from voxguard.models import build_from_config, create_model

VALIDATION_SETS = ("speecht5-hifigan", "vctk-vc", "ami-excerpts", "librispeech-test-other", "fsdd-heldout")
#: The validation term of the selection criterion. It was the pooled validation EER (test-other
#: and held-out FSDD among the bona fide) until 2026-12-02 evening; that rewards the corpus
#: shortcut, so runs from then on select on the same-corpus pairs only.
SELECTION_VALIDATION = "same_corpus_validation_eer"


class FeatureStore:
    """Several feature caches seen as one indexable array of states (rows in order)."""

    def __init__(self, dirs: list[Path]):
        self.parts = [np.load(d / "states.npy", mmap_mode="r") for d in dirs]
        self.offsets = np.cumsum([0] + [len(p) for p in self.parts])
        self.shape = (int(self.offsets[-1]),) + self.parts[0].shape[1:]

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, idx: np.ndarray) -> np.ndarray:
        idx = np.asarray(idx)
        out = np.empty((len(idx),) + self.shape[1:], dtype=np.float16)
        part = np.searchsorted(self.offsets, idx, side="right") - 1
        for k in np.unique(part):
            sel = part == k
            out[sel] = self.parts[k][idx[sel] - self.offsets[k]]
        return out


def load(feats: str) -> tuple[FeatureStore, list[dict]]:
    dirs = [Path(d) for d in feats.split(",") if d]
    rows = [json.loads(line) for d in dirs for line in (d / "index.jsonl").open(encoding="utf-8")]
    seen = set()
    for r in rows:  # a view made twice (passes over a build that was still running) counts once
        key = (r["utt"], r["set"], r["view"])
        if key in seen:
            r["split"] = "duplicate"
        seen.add(key)
    return FeatureStore(dirs), rows


def build(args: argparse.Namespace) -> torch.nn.Module:
    overrides = {"upstream_path": None, "freeze": "all", "include_stem": True}
    if args.merge:
        overrides["merge"] = args.merge
    if args.backend:
        overrides["backend"] = args.backend
    model = create_model(args.model, **overrides)
    if getattr(args, "k_train", None) is not None:
        # SpAArSIST's protocol trains the baseline back-end at one keep ratio for all six graph
        # pools (k_train, e.g. 0.3); the registered spaarsist_base config uses AASIST-style
        # pool_ratios (0.5 each) instead. Same weights either way, only the pools' ratio differs.
        cfg = dataclasses.replace(model.backend.config, k_train=args.k_train, k_infer=None)
        model.backend = build_from_config(model.backend.model_name, cfg)
    return model


def load_run(run: Path) -> tuple[torch.nn.Module, dict]:
    """A finished run's averaged model (``run/best.pt``, frozen front-end left out) and its record."""
    best = torch.load(Path(run) / "best.pt", weights_only=True)
    model = build(argparse.Namespace(model=best["model_name"], merge=best["merge"], backend=best["backend"],
                                     k_train=best.get("k_train")))
    missing, unexpected = model.load_state_dict(best["model"], strict=False)
    if unexpected or not all(k.startswith("frontend.") for k in missing):
        raise ValueError(f"{run}/best.pt does not fit {best['model_name']}: missing {missing[:3]}, unexpected {unexpected[:3]}")
    return model, best


def backend_forward(model, x: torch.Tensor, levels: list[int]) -> torch.Tensor:
    frames = torch.full((x.shape[0],), x.shape[2], dtype=torch.long)
    hidden = x if len(levels) == x.shape[1] else x[:, levels]
    if model.merge.num_layers != hidden.shape[1]:
        raise ValueError(f"merge expects {model.merge.num_layers} levels, got {hidden.shape[1]}")
    return model.backend(model.merge(hidden, frames), frames)


@torch.inference_mode()
def score(model, states: np.ndarray, idx: np.ndarray, levels: list[int], batch: int = 64) -> np.ndarray:
    model.eval()
    out = []
    for i in range(0, len(idx), batch):
        x = torch.from_numpy(states[np.sort(idx[i : i + batch])].astype(np.float32))
        order = np.argsort(np.argsort(idx[i : i + batch]))
        logits = backend_forward(model, x, levels)
        out.append((logits[:, 1] - logits[:, 0]).numpy()[order])
    model.train()
    return np.concatenate(out) if out else np.zeros(0)


def evaluate(model, states, rows, groups, levels) -> dict[str, float]:
    scores = {k: score(model, states, v, levels) for k, v in groups.items() if len(v)}
    return metrics(scores, rows, groups)


def metrics(scores: dict[str, np.ndarray], rows: list[dict], groups: dict[str, np.ndarray]) -> dict[str, float]:
    """The learning-curve figures from LLR-like ``scores`` per group (dev, eval, validation sets):
    EERs, rates at the dev EER threshold, and ``selection`` = dev EER + the same-corpus validation EER."""
    res: dict[str, float] = {}
    lab = {k: np.array([rows[i]["label"] == "bonafide" for i in v]) for k, v in groups.items()}
    for split in ("dev", "eval"):
        s, y = scores[split], lab[split]
        res[f"{split}_eer"] = float(eer(s[y], s[~y])[0])
    dev_thr = float(eer(scores["dev"][lab["dev"]], scores["dev"][~lab["dev"]])[1])
    res["dev_eer_threshold"] = dev_thr
    # Same-corpus validation: bona fide and spoofs from outside the training corpora on both sides
    # (VCTK and AMI bona fide; SpeechT5 reading VCTK prompts and VCTK conversions), so that
    # "LibriSpeech = real" earns nothing (../shared/data/README.md, "the corpus shortcut").
    sb = [scores[k][lab[k]] for k in ("vctk-vc", "ami-excerpts") if k in scores]
    ss = [scores[k][~lab[k]] for k in ("vctk-vc", "speecht5-hifigan") if k in scores]
    sb, ss = (np.concatenate(v) if v else np.zeros(0) for v in (sb, ss))
    res["same_corpus_validation_eer"] = float(eer(sb, ss)[0]) if len(sb) and len(ss) else 0.0
    vb = [scores[k][lab[k]] for k in VALIDATION_SETS if k in scores]
    vs = [scores[k][~lab[k]] for k in VALIDATION_SETS if k in scores]
    vb, vs = (np.concatenate(v) if v else np.zeros(0) for v in (vb, vs))
    res["validation_eer"] = float(eer(vb, vs)[0]) if len(vb) and len(vs) else 0.0
    if "vctk-vc" in scores:
        s, y = scores["vctk-vc"], lab["vctk-vc"]
        res["vctk_vc_eer"] = float(eer(s[y], s[~y])[0])
        if "speecht5-hifigan" in scores:
            res["speecht5_vs_vctk_bona_eer"] = float(eer(s[y], scores["speecht5-hifigan"])[0])
    for k in VALIDATION_SETS:
        if k in scores:
            y = lab[k]
            if y.any():
                res[f"{k}_bona_rejected_at_dev_thr"] = float(np.mean(scores[k][y] < dev_thr))
            if (~y).any():
                res[f"{k}_spoof_detected_at_dev_thr"] = float(np.mean(scores[k][~y] < dev_thr))
    res["selection"] = res["dev_eer"] + res[SELECTION_VALIDATION]
    return res


def start_run(args: argparse.Namespace) -> Path:
    """Threads and seed from ``args``; ``args.out`` created with ``args.json`` in it."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "args.json").write_text(json.dumps(vars(args), indent=1) + "\n")
    return out


def eval_groups(rows: list[dict]) -> dict[str, np.ndarray]:
    """Row indices of the engine dev and eval splits and of each validation set."""
    groups = {s: np.array([i for i, r in enumerate(rows) if r["split"] == s]) for s in ("dev", "eval")}
    for k in VALIDATION_SETS:
        groups[k] = np.array([i for i, r in enumerate(rows) if r.get("set") == k])
    return groups


def resume(out: Path, model, opt, rng: np.random.Generator) -> tuple[int, float, float, list]:
    """Restore model, optimiser and data RNG from ``OUT/ckpt.pt`` if it exists; returns
    ``(step, wall_s, cpu_s, history)`` (zeros and ``[]`` for a fresh run)."""
    if not (out / "ckpt.pt").is_file():
        return 0, 0.0, 0.0, []
    st = torch.load(out / "ckpt.pt", weights_only=True)
    model.load_state_dict(st["model"])
    opt.load_state_dict(st["opt"])
    rng.bit_generator.state = st["rng"]
    print(f"resuming from step {st['step']} ({out / 'ckpt.pt'})", flush=True)
    return st["step"], st["wall"], st["cpu"], st["history"]


def checkpoint(out: Path, model, opt, step: int, rec: dict, history: list, rng: np.random.Generator) -> None:
    """Write ``OUT/ckpt.pt`` atomically (what :func:`resume` reads)."""
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "wall": rec["wall_s"],
                "cpu": rec["cpu_s"], "history": history, "rng": rng.bit_generator.state}, out / "ckpt.tmp")
    os.replace(out / "ckpt.tmp", out / "ckpt.pt")


def plot(log_path: Path, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = [json.loads(line) for line in log_path.open()]
    tr = [r for r in recs if "loss" in r]
    ev = [r for r in recs if "dev_eer" in r]
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    if tr:
        steps = np.array([r["step"] for r in tr])
        loss = np.array([r["loss"] for r in tr])
        k = max(1, len(loss) // 100)
        ax[0].plot(steps[k - 1 :], np.convolve(loss, np.ones(k) / k, mode="valid"), label="CM loss")
        adv = [(r["step"], r["adv_loss"]) for r in tr if "adv_loss" in r]
        if adv:  # train_waveform.py --speaker-adv: the adversary's speaker cross-entropy, own axis
            a_steps, a_loss = map(np.array, zip(*adv, strict=True))
            twin = ax[0].twinx()
            twin.plot(a_steps[k - 1 :], np.convolve(a_loss, np.ones(k) / k, mode="valid"), color="tab:red",
                      label="speaker adversary CE")
            twin.set_ylabel("speaker adversary cross-entropy", color="tab:red")
            twin.legend(fontsize=7, loc="upper center")
        ax[0].legend(fontsize=7)
    ax[0].set(xlabel="step", ylabel="training loss (smoothed)", title="loss")
    for key, lab in (("dev_eer", "dev EER (seen attacks)"), ("eval_eer", "eval EER (unseen families, report only)"),
                     ("validation_eer", "validation pooled EER"), ("same_corpus_validation_eer", "same-corpus validation EER"),
                     ("vctk_vc_eer", "vctk-vc EER"),
                     ("speecht5_vs_vctk_bona_eer", "SpeechT5 vs VCTK bona fide EER")):
        pts = [(r["step"], r[key]) for r in ev if key in r]
        if pts:
            ax[1].plot(*zip(*pts, strict=True), marker="o", ms=3, label=lab)
    ax[1].set(xlabel="step", ylabel="EER", title="evaluation", ylim=(0, 0.6))
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feats", default="runs/cm/feats")
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", default="spaarsist_rank1_whisper_tiny")
    ap.add_argument("--merge", default="weighted_sum")
    ap.add_argument("--backend", default=None, help="backend override (e.g. spaarsist_base: the graph baseline)")
    ap.add_argument("--k-train", type=float, default=None,
                    help="graph back-ends: one keep ratio for all pools in training (SpAArSIST's k_train)")
    ap.add_argument("--levels", default="0,1,2,3,4", help="hidden states used: 0 = conv stem, 1-4 = layers")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--eval-every", type=int, default=150)
    ap.add_argument("--average", type=int, default=3)
    ap.add_argument("--mixup", type=float, default=0.0, help="mixup alpha on states (0 = off)")
    ap.add_argument("--time-mask", type=float, default=0.1, help="max share of frames zeroed")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-partial", action="store_true",
                    help="leave partial spoofs out of training: a cached 4-s crop may miss the spoofed segment")
    args = ap.parse_args()
    out = start_run(args)
    states, rows = load(args.feats)
    levels = [int(v) for v in args.levels.split(",")]
    train_b = np.array([i for i, r in enumerate(rows) if r["split"] == "train" and r["label"] == "bonafide"])
    train_s = np.array([i for i, r in enumerate(rows) if r["split"] == "train" and r["label"] == "spoof"
                        and not (args.no_partial and r["attack"].startswith("partial"))])
    assert not any(rows[i]["set"] != "engine" for i in np.concatenate([train_b, train_s])), "validation rows in training"
    groups = eval_groups(rows)
    model = build(args)
    if len(levels) != 5:
        from voxguard.frontends.merge import create_merge

        model.merge = create_merge(args.merge, len(levels), 384)
    params = [p for n, p in model.named_parameters() if not n.startswith("frontend.")]
    opt = torch.optim.AdamW(params, args.lr, weight_decay=1e-4)
    rng = np.random.default_rng(args.seed)
    step, wall0, cpu0, history = resume(out, model, opt, rng)
    t0, c0 = time.time(), time.process_time()
    log = (out / "log.jsonl").open("a", encoding="utf-8")
    model.train()
    model.frontend.eval()
    half = args.batch // 2
    while step < args.steps and not (out / "STOP").exists():  # touch OUT/STOP to end on a plateau
        lr = args.lr * min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = np.concatenate([rng.choice(train_b, half), rng.choice(train_s, half)])
        order = np.argsort(idx)
        x = torch.from_numpy(states[idx[order]].astype(np.float32))
        y = torch.from_numpy(np.r_[np.ones(half), np.zeros(half)][order].astype(np.int64))
        if args.time_mask > 0:
            T = x.shape[2]
            for b in range(x.shape[0]):
                w = int(rng.integers(0, int(args.time_mask * T) + 1))
                s0 = int(rng.integers(0, T - w + 1))
                x[b, :, s0 : s0 + w] = 0
        if args.mixup > 0:
            lam = float(rng.beta(args.mixup, args.mixup))
            perm = torch.from_numpy(rng.permutation(x.shape[0]))
            x = lam * x + (1 - lam) * x[perm]
            logits = backend_forward(model, x, levels)
            loss = lam * F.cross_entropy(logits, y) + (1 - lam) * F.cross_entropy(logits, y[perm])
        else:
            logits = backend_forward(model, x, levels)
            loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        step += 1
        rec = {"step": step, "loss": float(loss.detach()), "lr": lr,
               "wall_s": wall0 + time.time() - t0, "cpu_s": cpu0 + time.process_time() - c0}
        log.write(json.dumps(rec) + "\n")
        if step % args.eval_every == 0 or step == args.steps:
            res = evaluate(model, states, rows, groups, levels)
            res.update(step=step, wall_s=rec["wall_s"], cpu_s=rec["cpu_s"])
            log.write(json.dumps(res) + "\n")
            log.flush()
            snap = {k: v.detach().clone() for k, v in model.state_dict().items() if not k.startswith("frontend.")}
            history.append((res["selection"], step, snap))
            history = sorted(history, key=lambda h: h[0])[: args.average]
            checkpoint(out, model, opt, step, rec, history, rng)
            print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()}), flush=True)
    log.close()
    avg = {k: sum(h[2][k].float() for h in history) / len(history) for k in history[0][2]}
    model.load_state_dict(avg, strict=False)
    final = evaluate(model, states, rows, groups, levels)
    torch.save({"model": {k: v for k, v in model.state_dict().items() if not k.startswith("frontend.")},
                "levels": levels, "merge": args.merge, "model_name": args.model, "backend": args.backend,
                "k_train": getattr(args, "k_train", None),
                "averaged_steps": [h[1] for h in history]}, out / "best.pt")
    summary = {"final_averaged": final, "averaged_steps": [h[1] for h in history],
               "params_trained": sum(p.numel() for p in params), "args": vars(args),
               "wall_s": wall0 + time.time() - t0, "cpu_s": cpu0 + time.process_time() - c0}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    plot(out / "log.jsonl", out / "curves.png")
    print(json.dumps(summary["final_averaged"]), flush=True)


if __name__ == "__main__":
    main()
