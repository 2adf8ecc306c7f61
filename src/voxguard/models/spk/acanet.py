"""ACA-Net: asymmetric cross attention instead of temporal pooling (Interspeech 2023).

A learned latent array (``latent_dim`` queries of size ``E``) cross-attends (one head) to the
frame features, so any input length becomes a fixed ``(latent_dim, E)`` latent; MLA blocks
then run latent self-attention layers, concatenate the latent before and after every layer and
reduce it with a 1x1 conv; a final 1x1 conv over the embedding axis and a BatchNorm give a
``latent_dim``-sized speaker embedding.

Reference config (SPEC §1.4) and where its 4,553,601 parameters are:

======================================================  ==========
TDNN block: Conv1d(80, 256, 1) + ReLU + BatchNorm1d        21,248
latent array 192 x 256                                      49,152
per attention layer (LN, MHA, LN, MLP 256-256-256)         395,776
per block: 2 cross-attention + 3 latent layers
  + Conv1d(4 x 256, 256, 1) reduction                    2,241,280
2 blocks                                                 4,482,560
Conv1d(256, 1, 1) over the embedding axis + BN(192)            641
total                                                    4,553,601
======================================================  ==========

Every attention layer is pre-norm on the keys/values: ``q + MHA(q, LN(x), LN(x))`` then
``+ MLP(LN(.))``. Positions are sinusoidal, computed for the actual length (no ``max_len``),
and the batch axis is never squeezed, so batch size 1 and any length work.

Deviations from the public code (Yip-Jia-Qi/ACA-Net), on purpose:

- **Positional encoding indexed by time.** The reference adds its sinusoidal table indexed by
  the *batch* position (the table is sliced along the first axis of a batch-first tensor), so
  every frame of an utterance gets the same offset and the offset depends on where the
  utterance sits in the batch. voxguard indexes it by frame, as the paper describes, so scores
  do not depend on batch composition. Weights trained with the reference are therefore not
  interchangeable without retraining.
- **Dropout default 0.0** (``ACANetConfig.dropout``, applied after each attention MLP). The
  paper does not give the value it trained with; 0.0 keeps eval and train forward passes
  equal for the tests; set it (e.g. 0.1) for training runs.
- **No squeeze of the batch axis** (the reference fails at batch size 1).
- **A switch for the positions** (``ACANetConfig.positions``): ``"time"`` (default, the paper)
  or ``"none"``. Without them the 1x1 TDNN, the cross-attention and everything after it see the
  frames as a set, so the embedding does not depend on frame order or on where a crop starts, as
  for the statistics pooling of ECAPA-TDNN; the reference code's batch-indexed table is, per
  utterance, close to that (one constant offset for all its frames). The distillation in
  ``recipes/speaker/README.md`` used ``"none"`` together with ``latent_init_std = 1.0``; the
  effect of each switch alone on accuracy is not measured yet.
- **A switch for the latent array's initial spread** (``ACANetConfig.latent_init_std``, default
  the reference's 0.02). With 0.02 the 192 queries start almost equal, attention is almost
  uniform, and every latent ends as nearly the same vector, so the 192 embedding dimensions are
  0.999 correlated over a batch at initialisation (measured on the reference config): the
  embedding starts one-dimensional and a short distillation cannot pull it apart; with 1.0 the
  correlation at initialisation is 0.72.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from voxguard.frontends.fbank import Fbank
from voxguard.models._registry import Variant, register_variants


@dataclass(frozen=True)
class ACANetConfig:
    """Architecture of ACA-Net (defaults: the paper's reference config)."""

    n_mels: int = 80
    latent_dim: int = 192  # number of latent queries = embedding size
    embed_dim: int = 192  # output embedding size (equals latent_dim by construction)
    width: int = 256  # E, the feature size of frames and latents
    cross_reps: int = 2
    latent_layers: int = 3
    blocks: int = 2
    mlp_dim: int = 256
    latent_heads: int = 8
    dropout: float = 0.0  # after each attention MLP; the paper gives no value (see module doc)
    positions: str = "time"  # "time": sinusoidal by frame (the paper); "none": frames as a set
    latent_init_std: float = 0.02  # the reference's truncated-normal std for the latent array
    sample_rate: int = 16000


def sinusoidal_positions(length: int, dim: int, device: torch.device) -> torch.Tensor:
    """Transformer sinusoidal positions ``(length, dim)`` (sin on even, cos on odd features)."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim)
    )
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)
    return table


class AttentionLayer(nn.Module):
    """``q + MHA(q, LN(x), LN(x))``, then a GELU MLP with a pre-norm residual."""

    def __init__(self, dim: int, mlp_dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm_kv = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp_dim), nn.GELU(), nn.Linear(mlp_dim, dim), nn.Dropout(dropout)
        )

    def forward(
        self, x: torch.Tensor, q: torch.Tensor, pad_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        kv = self.norm_kv(x)
        q = q + self.attn(q, kv, kv, key_padding_mask=pad_mask, need_weights=False)[0]
        return q + self.mlp(self.norm_mlp(q))


class MLABlock(nn.Module):
    """Cross-attention reps onto the latent, then multi-layer-aggregated latent self-attention."""

    def __init__(self, cfg: ACANetConfig) -> None:
        super().__init__()
        self.cross = nn.ModuleList(
            AttentionLayer(cfg.width, cfg.mlp_dim, 1, cfg.dropout) for _ in range(cfg.cross_reps)
        )
        self.latent = nn.ModuleList(
            AttentionLayer(cfg.width, cfg.mlp_dim, cfg.latent_heads, cfg.dropout)
            for _ in range(cfg.latent_layers)
        )
        self.reduce = nn.Conv1d(cfg.width * (cfg.latent_layers + 1), cfg.width, 1)

    def forward(
        self, x: torch.Tensor, latent: torch.Tensor, pad_mask: torch.Tensor | None
    ) -> torch.Tensor:
        for layer in self.cross:
            latent = layer(x, latent, pad_mask)
        outs = [latent]
        for layer in self.latent:
            latent = layer(latent, latent)
            outs.append(latent)
        cat = torch.cat(outs, dim=-1).transpose(1, 2)  # (B, (n+1) E, L)
        return torch.relu(self.reduce(cat)).transpose(1, 2)


class ACANetNet(nn.Module):
    """The network on fbank features: ``(B, T', n_mels) -> embeddings (B, latent_dim)``."""

    def __init__(self, cfg: ACANetConfig) -> None:
        super().__init__()
        if cfg.embed_dim != cfg.latent_dim:
            raise ValueError("ACA-Net's embedding size is latent_dim; set embed_dim = latent_dim")
        if cfg.positions not in ("time", "none"):
            raise ValueError(f"ACA-Net positions must be 'time' or 'none', not {cfg.positions!r}")
        self.positions = cfg.positions
        self.tdnn = nn.Sequential(
            nn.Conv1d(cfg.n_mels, cfg.width, 1), nn.ReLU(), nn.BatchNorm1d(cfg.width)
        )
        self.latent = nn.Parameter(
            nn.init.trunc_normal_(torch.zeros(cfg.latent_dim, cfg.width), std=cfg.latent_init_std)
        )
        self.blocks = nn.ModuleList(MLABlock(cfg) for _ in range(cfg.blocks))
        self.compress = nn.Conv1d(cfg.width, 1, 1)
        self.norm = nn.BatchNorm1d(cfg.latent_dim)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x = self.tdnn(feats.transpose(1, 2)).transpose(1, 2)  # (B, T', E)
        if self.positions == "time":
            x = x + sinusoidal_positions(x.shape[1], x.shape[2], x.device)
        pad_mask = None
        if lengths is not None:
            pad_mask = (
                torch.arange(x.shape[1], device=x.device)[None] >= lengths.to(x.device)[:, None]
            )
        latent = self.latent[None].repeat(x.shape[0], 1, 1)  # a copy: views of a leaf break hooks
        for block in self.blocks:
            latent = block(x, latent, pad_mask)
        out = self.compress(latent.transpose(1, 2))[:, 0]  # (B, L): 1x1 conv over E
        return self.norm(out)


class ACANet(nn.Module):
    """ACA-Net speaker embedder: ``forward(wav (B, T), lengths) -> embeddings (B, 192)``."""

    def __init__(self, cfg: ACANetConfig) -> None:
        super().__init__()
        self.frontend = Fbank(n_mels=cfg.n_mels, sample_rate=cfg.sample_rate)
        self.network = ACANetNet(cfg)

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        feats, frames = self.frontend(wav, lengths)
        return self.network(feats, frames if lengths is not None else None)


register_variants(
    ACANet,
    task="spk",
    variants={
        "acanet": Variant(
            ACANetConfig(), "ACA-Net asymmetric cross attention speaker embedder (4,553,601 params)"
        ),
        "debug_acanet": Variant(
            ACANetConfig(
                latent_dim=16,
                embed_dim=16,
                width=32,
                cross_reps=1,
                latent_layers=1,
                blocks=1,
                mlp_dim=32,
                latent_heads=2,
            ),
            "tiny ACA-Net for tests",
            ("debug",),
        ),
    },
)
