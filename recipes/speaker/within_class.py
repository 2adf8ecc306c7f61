"""Within-class normalisation of a speaker model's embeddings (WCCN, LDA), chosen on dev, folded.

Every variant is an affine map ``z = M (s - m0)`` of the model's embedding ``s``, so it folds
exactly into ``network.embedding`` / ``network.norm`` (``fold.fold``): same architecture, same
parameter count, still cosine scoring. The statistics come from training speakers only
(``splits.py`` train, clean full utterances, fsdd left out):

- ``m0``: the mean of the speaker means (every LibriSpeech training speaker);
- within-class scatter ``Sw``: the mini training speakers (the only LibriSpeech training speakers
  with more than one utterance), shrunk ``(1 - a) Sw + a tr(Sw)/d I``;
- between-class scatter ``Sb``: of the speaker means.

``--augmented-copies K`` (twenty-fourth session) adds one variant, ``wccn-aug a=0.1``: the
statistics come from the same clean utterances plus ``K`` copies of each through the training
augmentation chain (``voxguard.training.spk_augment.SpeakerAugment``, whole utterance, babble from
every tenth training utterance as in ``precompute.py``, seed 0), pooled around each speaker's mean,
so every training speaker contributes within-class scatter and channel directions (reverberation,
noise, telephone band, codecs) are normalised along with session ones. The clean-statistics
variants above are unchanged by the flag.

WCCN (Hatch et al., 2006): ``M = Sw^-1/2``. LDA to ``k`` dimensions, as a rank-``k`` ``d x d``
map so the architecture is unchanged: ``M = U_k U_k^T Sw^-1/2`` with ``U_k`` the top eigenvectors
of the whitened ``Sb`` (cosine in that space is cosine of the ``k``-dimensional LDA projection).

Chosen on dev only: the lowest EER on all pairs of the 320 dev utterances (``fold.py``'s set), and
``dev_full`` (the checkpoint-selection set of training: 72 curve utterances + 32 cohort) reported
beside it. ``--write OUT`` folds a variant (``--variant``, default the chosen one) into a copy of
the weights and checks the fold is exact. Test-other is not read here.

Usage: python within_class.py DATA_DIR WEIGHTS OUT_JSON [--write OUT_DIR] [--variant NAME]
       [--augmented-copies K]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fold import embed, embed_samples, fold  # noqa: E402
from splits import dev_curve_subset, splits  # noqa: E402

import voxguard  # noqa: E402
from voxguard.audio.io import load_audio  # noqa: E402
from voxguard.models import save_pretrained  # noqa: E402
from voxguard.training.spk_augment import SpeakerAugment  # noqa: E402
from voxguard.training.spk_distill import all_pairs_eer_pct  # noqa: E402

#: The whole grid, declared before any result (``a``: shrinkage; ``k``: LDA dimensions).
VARIANTS = {
    "raw": None,
    "wccn a=0.1": {"a": 0.1},
    "wccn a=0.3": {"a": 0.3},
    "lda128 a=0.1": {"a": 0.1, "k": 128},
    "lda64 a=0.1": {"a": 0.1, "k": 64},
}


#: The twenty-fourth session's one candidate (``--augmented-copies``), declared before its result.
AUGMENTED_VARIANT = ("wccn-aug a=0.1", {"a": 0.1})


def embed_augmented(
    model: torch.nn.Module, root: Path, entries: list[dict], copies: int, seed: int = 0
) -> tuple[np.ndarray, list[str]]:
    """``copies`` augmented versions of every utterance, embedded whole, and their speakers."""
    rng = np.random.default_rng(seed)
    babble_pool = entries[::10]
    aug = SpeakerAugment(
        babble=lambda r: load_audio(
            root / babble_pool[int(r.integers(len(babble_pool)))]["path"], 16000
        )[0]
    )
    out, speakers = [], []
    for e in entries:
        x = load_audio(root / e["path"], 16000)[0]
        for _ in range(copies):
            out.append(embed_samples(model, aug(x, rng)[0]))
            speakers.append(e["speaker"])
    return np.stack(out), speakers


def scatter(emb: np.ndarray, speakers: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of the speaker means, within-class scatter (speakers with 2+ utterances, pooled over
    utterances) and between-class scatter of the speaker means."""
    spk = np.asarray(speakers)
    labels = sorted(set(speakers))
    means = np.stack([emb[spk == s].mean(axis=0) for s in labels])
    m0 = means.mean(axis=0)
    dev = [emb[spk == s] - means[i] for i, s in enumerate(labels) if (spk == s).sum() > 1]
    within = np.concatenate(dev)
    sw = within.T @ within / len(within)
    centred = means - m0
    sb = centred.T @ centred / len(means)
    return m0, sw, sb


def inv_sqrt_psd(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(a)
    return (v / np.sqrt(w)) @ v.T


def variant_map(sw: np.ndarray, sb: np.ndarray, a: float, k: int | None = None) -> np.ndarray:
    """``M`` of one variant (``d x d``)."""
    d = sw.shape[0]
    w = inv_sqrt_psd((1 - a) * sw + a * np.trace(sw) / d * np.eye(d))
    if k is None:
        return w
    ev, u = np.linalg.eigh(w @ sb @ w)
    uk = u[:, np.argsort(ev)[::-1][:k]]
    return uk @ uk.T @ w


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir")
    ap.add_argument("weights", help="a bundle name or weights directory")
    ap.add_argument("out_json")
    ap.add_argument("--write", help="fold the variant into a copy of the weights here")
    ap.add_argument("--variant", help="the variant --write folds (default: the one chosen on dev)")
    ap.add_argument(
        "--augmented-copies",
        type=int,
        default=0,
        help="add the wccn-aug variant: statistics also from K augmented copies of each utterance",
    )
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0, c0 = time.time(), time.process_time()
    root = Path(args.data_dir)
    sp = splits(root)
    train = [e for e in sp["train"] if e["corpus"] != "fsdd"]
    dev = sp["dev_mini"] + sp["dev_cohort"]
    full_utts = {e["utt"] for e in dev_curve_subset(sp["dev_mini"]) + sp["dev_cohort"]}
    full_idx = [n for n, e in enumerate(dev) if e["utt"] in full_utts]
    model = voxguard.load_pretrained(args.weights).eval()

    e_train = embed(model, root, train)
    e_dev = embed(model, root, dev)
    train_spk = [e["speaker"] for e in train]
    dev_spk = [e["speaker"] for e in dev]
    m0, sw, sb = scatter(e_train, train_spk)
    counts = Counter(train_spk)
    multi = sorted(s for s, c in counts.items() if c > 1)

    variants = dict(VARIANTS)
    stats = {}  # statistics of a variant other than the clean ones (m0, sw, sb)
    if args.augmented_copies > 0:
        e_aug, aug_spk = embed_augmented(model, root, train, args.augmented_copies)
        name, v = AUGMENTED_VARIANT
        variants[name] = v
        stats[name] = scatter(np.concatenate([e_train, e_aug]), train_spk + aug_spk)

    maps: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    rows = {}
    for name, v in variants.items():
        if v is None:
            mm, mu = np.eye(e_dev.shape[1]), np.zeros_like(m0)
        else:
            v_m0, v_sw, v_sb = stats.get(name, (m0, sw, sb))
            mm, mu = variant_map(v_sw, v_sb, v["a"], v.get("k")), v_m0
        maps[name] = (mm, mu)
        z = (e_dev - mu) @ mm.T
        rows[name] = {
            "dev_eer_pct": round(all_pairs_eer_pct(z, dev_spk), 3),
            "dev_full_eer_pct": round(
                all_pairs_eer_pct(z[full_idx], [dev_spk[n] for n in full_idx]), 3
            ),
        }
        print(
            f"{name:14s} dev {rows[name]['dev_eer_pct']:6.3f}  dev_full {rows[name]['dev_full_eer_pct']:6.3f}"
        )
    chosen = min((n for n in variants if n != "raw"), key=lambda n: rows[n]["dev_eer_pct"])
    report = {
        "weights": str(args.weights),
        "statistics": {
            "train_utterances": len(train),
            "train_speakers": len(set(train_spk)),
            "within_class_speakers": len(multi),
            "within_class_utterances": sum(counts[s] for s in multi),
            "augmented_copies_per_utterance": args.augmented_copies,
        },
        "dev": f"all pairs of {len(dev)} dev utterances (6 mini + 32 cohort-only speakers)",
        "dev_full": f"{len(full_idx)} utterances (the 72-utterance curve set + 32 cohort)",
        "variants": rows,
        "chosen_on_dev": chosen,
        "cpu_s": round(time.process_time() - c0, 1),
        "wall_s": round(time.time() - t0, 1),
    }
    if args.write:
        name = args.variant or chosen
        mm, mu = maps[name]
        fold(model, mm, mu)
        z = embed(model, root, dev[:5])
        ref = (e_dev[:5] - mu) @ mm.T
        assert np.allclose(z, ref, atol=1e-3 * np.abs(ref).max()), "fold is not exact"
        card = dict(getattr(model, "card", {}) or {})
        card["scoring_space"] = {
            **card.get("scoring_space", {}),
            "within_class": {**report, "folded": name},
        }
        save_pretrained(model, args.write, card)
        report["written"] = {"variant": name, "dir": str(args.write)}
    Path(args.out_json).write_text(json.dumps(report, indent=1) + "\n")
    print(f"chosen on dev: {chosen}")


if __name__ == "__main__":
    main()
