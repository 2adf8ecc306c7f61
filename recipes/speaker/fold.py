"""Choose the scoring space of a distilled student on dev, and fold it into the weights.

The student was trained so that ``P s`` matches the teacher (``P``: the learned 192 -> 256
projection, training only). Cosine scoring can use ``s`` itself or the teacher-like space:
``cos(P s1, P s2) = cos(M s1, M s2)`` with ``M = (P^T P)^(1/2)`` (192 x 192), optionally after
removing the mean embedding of training speech. Each variant is an affine map of ``s`` and so
folds exactly into the model's last Linear + BatchNorm (BatchNorm becomes the identity): the
architecture and the parameter count do not change. The variant with the lowest EER on all pairs
of the dev speakers' utterances (never trained on; test-other is not looked at) is written.

Usage: python fold.py DATA_DIR EXP_DIR OUT_DIR
"""

from __future__ import annotations

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
def embed(model: torch.nn.Module, root: Path, entries: list[dict]) -> np.ndarray:
    return np.stack(
        [
            model(torch.from_numpy(load_audio(root / e["path"], 16000)[0])[None])[0].numpy()
            for e in entries
        ]
    )


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


def main(data_dir: str, exp_dir: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    root, exp = Path(data_dir), Path(exp_dir)
    sp = splits(root)
    dev = sp["dev_mini"] + sp["dev_cohort"]
    model = voxguard.load_pretrained(exp / "best").eval()
    best_step = json.loads((exp / "best" / "config.json").read_text())["card"]["train_step"]
    ck = torch.load(exp / "last.pt", map_location="cpu", weights_only=True)
    same = ck["state"]["step"] == best_step
    p = ck["kd"]["proj.weight"].double().numpy()
    train_libri = [e for e in sp["train"] if e["corpus"] != "fsdd"][::7]
    mean = embed(model, root, train_libri).mean(axis=0)
    e = embed(model, root, dev)
    i, j, target = all_pairs_trials([x["speaker"] for x in dev])
    eye = np.eye(e.shape[1])
    variants = {"s": (eye, np.zeros_like(mean)), "s - mean": (eye, mean)}
    if same:  # P belongs to the best checkpoint only if it is the last one
        m = sqrtm_psd(p.T @ p)
        variants |= {"M s": (m, np.zeros_like(mean)), "M (s - mean)": (m, mean)}
    report = {"best_step": best_step, "last_step": ck["state"]["step"], "dev_eer_pct": {}}
    for name, (mm, m0) in variants.items():
        z = (e - m0) @ mm.T
        s = cosine_matrix(z, z)[i, j]
        report["dev_eer_pct"][name] = round(100 * sv_metrics(s[target], s[~target])["eer"], 3)
    chosen = min(report["dev_eer_pct"], key=report["dev_eer_pct"].get)
    report["chosen"] = chosen
    mm, m0 = variants[chosen]
    if chosen != "s":
        fold(model, mm, m0)
        z = embed(model, root, dev[:5])
        ref = (e[:5] - m0) @ mm.T
        assert np.allclose(z, ref, atol=1e-3 * np.abs(ref).max()), "fold is not exact"
    card = json.loads((exp / "best" / "config.json").read_text())["card"]
    card["scoring_space"] = {
        **report,
        "note": "chosen on dev; folded into network.embedding "
        "and network.norm (exact affine map of the embedding)",
    }
    save_pretrained(model, out_dir, card)
    print(json.dumps(report))


if __name__ == "__main__":
    main(*sys.argv[1:4])
