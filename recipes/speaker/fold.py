"""Choose the scoring space of a distilled student on dev, and fold it into the weights.

The student was trained so that ``P s`` matches the teacher (``P``: the learned 192 -> 256
projection, training only). Cosine scoring can use ``s`` itself or the teacher-like space:
``cos(P s1, P s2) = cos(M s1, M s2)`` with ``M = (P^T P)^(1/2)`` (192 x 192), optionally after
removing the mean embedding of training speech, and with or without the BatchNorm statistics
re-estimated on clean training speech. Each variant is an affine map of ``s`` and so
folds exactly into the model's last Linear + BatchNorm (BatchNorm becomes the identity): the
architecture and the parameter count do not change. The variant with the lowest EER on all pairs
of the dev speakers' utterances (never trained on; test-other is not looked at) is written.

Usage: python fold.py DATA_DIR EXP_DIR OUT_DIR
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from splits import splits  # noqa: E402

import voxguard  # noqa: E402
from voxguard.audio.io import load_audio  # noqa: E402
from voxguard.metrics import sv_metrics  # noqa: E402
from voxguard.models import save_pretrained  # noqa: E402
from voxguard.scoring.cosine import all_pairs_trials, cosine_matrix  # noqa: E402


@torch.no_grad()
def embed_samples(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """The embedding of one 16-kHz signal, whole."""
    return model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None])[0].numpy()


def embed(model: torch.nn.Module, root: Path, entries: list[dict]) -> np.ndarray:
    return np.stack([embed_samples(model, load_audio(root / e["path"], 16000)[0]) for e in entries])


@torch.no_grad()
def recalibrate_bn(
    model: torch.nn.Module, root: Path, entries: list[dict], crop: int = 64000
) -> None:
    """Re-estimate every BatchNorm's running statistics on clean training speech (4-s crops,
    batches of 16; cumulative average), the rest of the model in eval mode."""
    model.eval()
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
        bn.train()
    wavs = [np.resize(load_audio(root / e["path"], 16000)[0], crop) for e in entries]
    for k in range(0, len(wavs) - 1, 16):
        model(torch.from_numpy(np.stack(wavs[k : k + 16])))
    for bn in bns:
        bn.momentum = 0.1
    model.eval()


def sqrtm_psd(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(a)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def fold(model: torch.nn.Module, m: np.ndarray, m0: np.ndarray) -> None:
    """Replace ``s`` by ``M (s - m0)`` inside ``network.embedding`` / ``network.norm``."""
    lin, bn = model.network.embedding, model.network.norm
    a = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).double()
    c = bn.bias.double() - a * bn.running_mean.double()
    mt, m0t = torch.from_numpy(m).double(), torch.from_numpy(m0).double()
    w = mt @ (a[:, None] * lin.weight.double())
    b = mt @ (a * lin.bias.double() + c - m0t)
    with torch.no_grad():
        lin.weight.copy_(w.float())
        lin.bias.copy_(b.float())
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - bn.eps)
        bn.weight.fill_(1.0)
        bn.bias.zero_()


def variants_of(model, root, dev, train_libri, p):
    """Dev EER of every scoring variant of one checkpoint, and the embeddings to fold them."""
    i, j, target = all_pairs_trials([x["speaker"] for x in dev])
    e = embed(model, root, dev)
    mean = embed(model, root, train_libri).mean(axis=0)
    eye = np.eye(e.shape[1])
    maps = {"s": (eye, False), "s - mean": (eye, True)}
    if p is not None:
        m = sqrtm_psd(p.T @ p)
        maps |= {"M s": (m, False), "M (s - mean)": (m, True)}
    recal = copy.deepcopy(model)
    recalibrate_bn(recal, root, train_libri)
    e_recal = embed(recal, root, dev)
    mean_recal = embed(recal, root, train_libri[::3]).mean(axis=0)
    out = {}
    for tag, mdl, emb, mu in (
        ("", model, e, mean),
        ("BN re-estimated, ", recal, e_recal, mean_recal),
    ):
        for name, (mm, centre) in maps.items():
            m0 = mu if centre else np.zeros_like(mu)
            z = (emb - m0) @ mm.T
            sc = cosine_matrix(z, z)[i, j]
            eer = 100 * sv_metrics(sc[target], sc[~target])["eer"]
            out[tag + name] = (round(eer, 3), mdl, emb, mm, m0)
    return out


def main(data_dir: str, exp_dir: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    root, exp = Path(data_dir), Path(exp_dir)
    sp = splits(root)
    dev = sp["dev_mini"] + sp["dev_cohort"]
    train_libri = [e for e in sp["train"] if e["corpus"] != "fsdd"][::7]
    best = voxguard.load_pretrained(exp / "best").eval()
    card = json.loads((exp / "best" / "config.json").read_text())["card"]
    best_step = card["train_step"]
    ck = torch.load(exp / "last.pt", map_location="cpu", weights_only=True)
    last_step = ck["state"]["step"]
    p_last = ck["kd"]["proj.weight"].double().numpy()
    p_best = p_last if last_step == best_step else None
    if (exp / "best_projection.pt").is_file():  # written with every best checkpoint
        bp = torch.load(exp / "best_projection.pt", map_location="cpu", weights_only=True)
        if bp["step"] == best_step:
            p_best = bp["proj"]["proj.weight"].double().numpy()
    candidates = {
        f"step {best_step} (best dev-curve EER)": variants_of(best, root, dev, train_libri, p_best)
    }
    if last_step != best_step:  # the last checkpoint too, with its projection
        last = copy.deepcopy(best)
        last.load_state_dict(ck["model"])
        last.eval()
        candidates[f"step {last_step} (last)"] = variants_of(last, root, dev, train_libri, p_last)
    report = {
        "dev": f"all pairs of {len(dev)} dev utterances (6 mini + 32 cohort-only speakers)",
        "dev_eer_pct": {f"{c}: {v}": r[0] for c, vs in candidates.items() for v, r in vs.items()},
    }
    chosen = min(report["dev_eer_pct"], key=report["dev_eer_pct"].get)
    report["chosen"] = chosen
    ckpt, var = chosen.split(": ", 1)
    _, model, e, mm, m0 = candidates[ckpt][var]
    if not var.endswith(": s") and var != "s" and var != "BN re-estimated, s":
        fold(model, mm, m0)
        z = embed(model, root, dev[:5])
        ref = (e[:5] - m0) @ mm.T
        assert np.allclose(z, ref, atol=1e-3 * np.abs(ref).max()), "fold is not exact"
    card["train_step"] = int(ckpt.split()[1])
    card["scoring_space"] = {
        **report,
        "note": "chosen on dev; folded into network.embedding "
        "and network.norm (exact affine map of the embedding)",
    }
    save_pretrained(model, out_dir, card)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:4])
