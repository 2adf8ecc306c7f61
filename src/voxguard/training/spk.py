"""A compact speaker-embedding training loop (AAM-softmax, optional attention-map KD).

Fbank features are computed once into a :class:`FeatureCache` (safetensors, no CMN) so CPU time
goes to the network; training draws random ``crop_frames`` crops, applies per-crop mean
normalisation (as the model's frontend does per utterance at inference) and trains the model's
``network`` on them. With a teacher (``kd_teacher``), BC-CMT's temporal attention maps are
distilled (:mod:`voxguard.losses.kd`) on top of the AAM-softmax loss.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from voxguard.errors import VoxguardError
from voxguard.frontends.fbank import Fbank, cmn


@dataclass(frozen=True)
class SpkTrainConfig:
    """Everything that defines one speaker-training run (saved next to the checkpoint)."""

    model: str = "bccmt_tiny"
    overrides: dict[str, Any] = field(default_factory=dict)
    steps: int = 400
    batch_size: int = 32
    crop_frames: int = 200
    lr: float = 2e-3
    final_lr: float = 1e-4
    weight_decay: float = 2e-5
    margin: float = 0.2
    scale: float = 30.0
    margin_warmup: float = 0.3  # fraction of the steps spent ramping the margin up from 0
    kd_teacher: str | None = None  # weights directory of the teacher (BC-CMT only)
    kd_weight: float = 1.0
    kd_kind: str = "kl"
    seed: int = 0
    threads: int = 1

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpkTrainConfig:
        """Build from a parsed YAML mapping; unknown keys are an error naming them."""
        known = set(cls.__dataclass_fields__)
        bad = sorted(set(data) - known)
        if bad:
            raise VoxguardError(f"unknown training config keys {bad}; valid keys: {sorted(known)}")
        return cls(**data)


class FeatureCache:
    """Fbank features of many utterances in one tensor, with utterance ids and speakers."""

    def __init__(
        self, feats: torch.Tensor, offsets: torch.Tensor, utts: list[str], speakers: list[str]
    ) -> None:
        self.feats, self.offsets, self.utts, self.speakers = feats, offsets, utts, speakers

    def __len__(self) -> int:
        return len(self.utts)

    def get(self, i: int) -> torch.Tensor:
        """Features ``(T', D)`` of utterance ``i`` (float32, no CMN)."""
        return self.feats[self.offsets[i] : self.offsets[i + 1]].float()

    def save(self, path: str | Path) -> None:
        """Write ``path`` (safetensors) and ``path.json`` (ids and speakers)."""
        save_file({"feats": self.feats.contiguous(), "offsets": self.offsets}, str(path))
        Path(f"{path}.json").write_text(json.dumps({"utts": self.utts, "speakers": self.speakers}))

    @classmethod
    def load(cls, path: str | Path) -> FeatureCache:
        """Read a cache written by :meth:`save`."""
        if not Path(path).is_file() or not Path(f"{path}.json").is_file():
            raise VoxguardError(
                f"{path}: feature cache (or its .json) not found; build it with build_feature_cache"
            )
        tensors = load_file(str(path))
        meta = json.loads(Path(f"{path}.json").read_text())
        return cls(tensors["feats"], tensors["offsets"], meta["utts"], meta["speakers"])


def build_feature_cache(
    entries: Iterable[dict[str, Any]], root: str | Path, n_mels: int = 80, progress: bool = False
) -> FeatureCache:
    """Fbank (no CMN) of every manifest entry (``path`` relative to ``root``, ``utt``, ``speaker``)."""
    from tqdm import tqdm

    from voxguard.audio.io import load_audio

    fbank = Fbank(n_mels=n_mels, cmn=False).eval()
    feats, offsets, utts, speakers = [], [0], [], []
    entries = list(entries)
    with torch.no_grad():
        for e in tqdm(entries, disable=not progress, desc="fbank"):
            wav, _ = load_audio(Path(root) / e["path"], 16000)
            f = fbank(torch.from_numpy(wav)[None])[0][0]
            feats.append(f.half())
            offsets.append(offsets[-1] + f.shape[0])
            utts.append(e["utt"])
            speakers.append(str(e["speaker"]))
    return FeatureCache(torch.cat(feats), torch.tensor(offsets), utts, speakers)


def _random_crops(
    cache: FeatureCache, idx: np.ndarray, frames: int, rng: np.random.Generator
) -> torch.Tensor:
    out = []
    for i in idx:
        f = cache.get(int(i))
        if f.shape[0] < frames:
            f = f.repeat(math.ceil(frames / f.shape[0]), 1)
        start = int(rng.integers(0, f.shape[0] - frames + 1))
        out.append(f[start : start + frames])
    x = torch.stack(out)
    return cmn(x, torch.full((x.shape[0],), frames))


def train_speaker_model(
    cfg: SpkTrainConfig,
    cache: FeatureCache,
    out_dir: str | Path,
    card: dict[str, Any] | None = None,
    log_file: Any = None,
) -> nn.Module:
    """Train ``cfg.model`` on ``cache`` and save it with ``save_pretrained`` to ``out_dir``.

    Returns the trained model (eval mode). Also writes ``train_config.json`` and ``log.jsonl``.
    """
    from tqdm import tqdm

    from voxguard.losses.aam import AAMSoftmax, margin_schedule
    from voxguard.losses.kd import attention_kd_loss
    from voxguard.models import create_model, load_pretrained, save_pretrained

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = create_model(cfg.model, **cfg.overrides)
    classes = sorted(set(cache.speakers))
    labels = torch.tensor([classes.index(s) for s in cache.speakers])
    head = AAMSoftmax(model.config.embed_dim, len(classes), cfg.margin, cfg.scale)
    teacher = None
    if cfg.kd_teacher:
        teacher = load_pretrained(cfg.kd_teacher).eval()
        if not (
            hasattr(teacher, "forward_with_attention") and hasattr(model, "forward_with_attention")
        ):
            raise VoxguardError(
                f"kd_teacher {cfg.kd_teacher} ({teacher.model_name}) -> {cfg.model}: attention-map "
                "KD needs BC-CMT (bccmt_*) teacher and student; remove kd_teacher or use bccmt models"
            )
    params = list(model.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    gamma = (cfg.final_lr / cfg.lr) ** (1.0 / max(cfg.steps, 1))
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
    (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    log = open(out / "log.jsonl", "w")
    model.train()
    order: list[int] = []
    t0 = time.time()
    bar = tqdm(range(cfg.steps), file=log_file, mininterval=30, desc=cfg.model)
    for step in bar:
        if len(order) < cfg.batch_size:
            order += rng.permutation(len(cache)).tolist()
        idx, order = np.array(order[: cfg.batch_size]), order[cfg.batch_size :]
        x = _random_crops(cache, idx, cfg.crop_frames, rng)
        head.set_margin(margin_schedule(step, int(cfg.margin_warmup * cfg.steps), cfg.margin))
        emb, maps = network_forward(model, x)
        loss, acc = head(emb, labels[idx])
        kd = torch.zeros(())
        if teacher is not None:
            with torch.no_grad():
                _, t_maps = teacher.network(x)
            kd = attention_kd_loss(maps, t_maps, kind=cfg.kd_kind)
            loss = loss + cfg.kd_weight * kd
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        sched.step()
        rec = {
            "step": step,
            "loss": loss.item(),
            "acc": acc.item(),
            "kd": kd.item(),
            "margin": head.margin,
            "lr": sched.get_last_lr()[0],
            "elapsed_s": round(time.time() - t0, 1),
        }
        log.write(json.dumps(rec) + "\n")
        log.flush()
        bar.set_postfix(loss=f"{rec['loss']:.3f}", acc=f"{rec['acc']:.2f}", kd=f"{rec['kd']:.3f}")
    log.close()
    model.eval()
    full_card = {
        "sample_rate": 16000,
        "frontend": "kaldi fbank 80 bins, 25/10 ms, CMN",
        "train_steps": cfg.steps,
        "train_minutes": round((time.time() - t0) / 60, 1),
    }
    full_card.update(card or {})
    save_pretrained(model, out, full_card)
    return model


def network_forward(
    model: nn.Module, feats: torch.Tensor
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Embeddings (and BC-CMT attention maps, else ``[]``) of CMN'd fbank features."""
    result = model.network(feats)
    if isinstance(result, tuple):
        return result
    return result, []


@torch.no_grad()
def embed_cache(model: nn.Module, cache: FeatureCache) -> torch.Tensor:
    """Full-length embeddings ``(N, E)`` of every utterance in ``cache`` (eval mode, one by one)."""
    model.eval()
    embs = []
    for i in range(len(cache)):
        f = cache.get(i)[None]
        emb, _ = network_forward(model, cmn(f, torch.tensor([f.shape[1]])))
        embs.append(emb[0])
    return torch.stack(embs)
