"""BC-CMT: broadcasting CNN-Transformer speaker embeddings (TASLP 2024), Tiny / Small / Base.

No public code exists; this is our implementation of the paper's description (SPEC §1.3):

- front: Kaldi fbank (80 bins) -> a 5x5 stem conv with stride 2 in frequency (80 -> 40 bins)
  and in time (10 ms -> 20 ms frames, halving the cost of everything after it);
- two convolutional stages of BC-ResNet blocks (a transition block, then broadcasted residual
  blocks), the second with frequency stride 2 (40 -> 20 bins);
- two hybrid stages of BC-CMT blocks (transition with frequency stride 2: 20 -> 10 -> 5 bins),
  each block = local depthwise unit (3x3 depthwise conv + identity) -> lightweight 1-D temporal
  multi-head self-attention on the frequency-averaged map (grouped 1x1 q/k/v/out projections,
  with few groups), broadcast-added back over frequency -> inverted-residual FFN built with
  broadcasted residual learning (:class:`~voxguard.layers.brl.BroadcastedFFN`);
- frequency-statistics-dependent attentive statistics pooling, then Linear + BatchNorm to the
  embedding.

Time is strided once (by the stem) for every size, so the temporal attention maps are
``(B, heads, T', T')`` with ``T' = ceil(frames / 2)`` for Tiny, Small and Base alike: maps of Tiny and Base can be matched
directly for attention-map distillation (:mod:`voxguard.losses.kd`).

What the attention lacks compared with CMT (Guo et al., CVPR 2022): CMT's lightweight
multi-head self-attention reduces the keys and values with a strided depthwise conv (ratio k)
and adds a learned relative position bias to the attention logits; BC-CMT as implemented here
has neither: full-length keys/values over time (the sequence is already frequency-pooled and
time-strided once) and no position bias (position enters through the convolutions). The
paper does not say whether BC-CMT keeps them; both are left out so that attention maps of any
two sizes have the same shape for distillation.

Widths and depths (ours; Tiny lands at the paper's ~271K parameters, see ``docs/speaker.md``):
Tiny stem 16, stages (16, 32, 48, 64), 2+2 BC-ResNet blocks, 3+2 BC-CMT blocks, 4 heads,
E = 192 (268,752 parameters).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from voxguard.frontends.fbank import Fbank
from voxguard.layers.brl import BroadcastedBlock, BroadcastedFFN, TransitionBlock
from voxguard.layers.pooling import FreqStatsAttentivePooling
from voxguard.models._registry import Variant, register_variants


@dataclass(frozen=True)
class BCCMTConfig:
    """Architecture of one BC-CMT variant."""

    n_mels: int = 80
    stem_channels: int = 16
    channels: tuple[int, int, int, int] = (16, 32, 48, 64)
    conv_blocks: tuple[int, int] = (2, 2)  # BC-ResNet blocks after the transitions of stages 1-2
    cmt_blocks: tuple[int, int] = (3, 2)  # BC-CMT blocks in stages 3-4
    heads: int = 4
    sa_groups: int = 2  # groups of the q/k/v/out projections ("fewer groups")
    ffn_ratio: int = 2
    sub_bands: int = 5
    pool_bottleneck: int = 64
    embed_dim: int = 192
    dropout: float = 0.1
    sample_rate: int = 16000


class TemporalSelfAttention(nn.Module):
    """Multi-head self-attention over time on a ``(B, C, T)`` sequence.

    Returns the output ``(B, C, T)`` and the attention maps ``(B, heads, T, T)``.
    """

    def __init__(self, channels: int, heads: int, groups: int) -> None:
        super().__init__()
        if channels % heads or channels % groups:
            raise ValueError(
                f"channels {channels} must be divisible by heads {heads} and groups {groups}"
            )
        self.heads = heads
        self.norm = nn.GroupNorm(1, channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1, groups=groups)
        self.out = nn.Conv1d(channels, channels, 1, groups=groups)

    def forward(
        self, z: torch.Tensor, key_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        b, c, t = z.shape
        q, k, v = (
            self.qkv(self._norm(z, key_mask))
            .reshape(b, 3, self.heads, c // self.heads, t)
            .unbind(1)
        )
        logits = torch.einsum("bhdq,bhdk->bhqk", q, k) * (c // self.heads) ** -0.5
        if key_mask is not None:
            logits = logits.masked_fill(~key_mask[:, None, None, :], -1e4)
        attn = torch.softmax(logits, dim=-1)
        out = torch.einsum("bhqk,bhdk->bhdq", attn, v).reshape(b, c, t)
        return self.out(out), attn

    def _norm(self, z: torch.Tensor, key_mask: torch.Tensor | None) -> torch.Tensor:
        """GroupNorm(1, C) whose statistics skip padded frames (plain GroupNorm without a mask)."""
        if key_mask is None:
            return self.norm(z)
        m = key_mask[:, None].to(z.dtype)  # (B, 1, T)
        count = m.sum(dim=(1, 2), keepdim=True) * z.shape[1]
        mean = (z * m).sum(dim=(1, 2), keepdim=True) / count
        var = ((z - mean) ** 2 * m).sum(dim=(1, 2), keepdim=True) / count
        z = (z - mean) / torch.sqrt(var + self.norm.eps)
        return z * self.norm.weight[None, :, None] + self.norm.bias[None, :, None]


class BCCMTBlock(nn.Module):
    """Local depthwise unit -> 1-D temporal self-attention (broadcast) -> BRL inverted FFN."""

    def __init__(self, channels: int, heads: int, groups: int, ffn_ratio: int) -> None:
        super().__init__()
        self.local = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.attention = TemporalSelfAttention(channels, heads, groups)
        self.ffn = BroadcastedFFN(channels, ffn_ratio, sub_bands=1, groups=groups)

    def forward(
        self, x: torch.Tensor, key_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = x + self.local(x)
        sa, attn = self.attention(x.mean(dim=2), key_mask)
        x = x + sa[:, :, None]
        return self.ffn(x, key_mask), attn


class BCCMTNet(nn.Module):
    """The network on fbank features: ``(B, T', n_mels) -> (embeddings, attention maps)``."""

    def __init__(self, cfg: BCCMTConfig) -> None:
        super().__init__()
        c0, (c1, c2, c3, c4) = cfg.stem_channels, cfg.channels
        sb = cfg.sub_bands
        self.stem = nn.Sequential(
            nn.Conv2d(1, c0, 5, stride=2, padding=2, bias=False), nn.BatchNorm2d(c0), nn.ReLU()
        )
        self.stage1 = nn.Sequential(
            TransitionBlock(c0, c1, 1, 1, sb, cfg.dropout),
            *[BroadcastedBlock(c1, 1, sb, cfg.dropout) for _ in range(cfg.conv_blocks[0])],
        )
        self.stage2 = nn.Sequential(
            TransitionBlock(c1, c2, 2, 2, sb, cfg.dropout),
            *[BroadcastedBlock(c2, 2, sb, cfg.dropout) for _ in range(cfg.conv_blocks[1])],
        )
        self.trans3 = TransitionBlock(c2, c3, 2, 4, sb, cfg.dropout)
        self.stage3 = nn.ModuleList(
            BCCMTBlock(c3, cfg.heads, cfg.sa_groups, cfg.ffn_ratio)
            for _ in range(cfg.cmt_blocks[0])
        )
        self.trans4 = TransitionBlock(c3, c4, 2, 8, sb, cfg.dropout)
        self.stage4 = nn.ModuleList(
            BCCMTBlock(c4, cfg.heads, cfg.sa_groups, cfg.ffn_ratio)
            for _ in range(cfg.cmt_blocks[1])
        )
        freq = cfg.n_mels // 16
        self.pool = FreqStatsAttentivePooling(c4, freq, cfg.pool_bottleneck)
        self.embedding = nn.Linear(self.pool.out_dim, cfg.embed_dim)
        self.norm = nn.BatchNorm1d(cfg.embed_dim)

    def forward(
        self, feats: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Embeddings ``(B, E)`` and the per-block attention maps ``[(B, heads, T', T'), ...]``."""
        key_mask = keep = None
        if lengths is not None:  # padded frames: zeroed after every block, masked in every
            # temporal conv (see voxguard.layers.brl) and attention, so they do not leak
            valid = (
                torch.arange(feats.shape[1], device=feats.device)[None]
                < lengths.to(feats.device)[:, None]
            )
            feats = feats * valid[..., None]
            lengths = torch.div(lengths.to(feats.device) + 1, 2, rounding_mode="floor")
        x = self.stem(feats.transpose(1, 2)[:, None])
        if lengths is not None:
            key_mask = torch.arange(x.shape[-1], device=x.device)[None] < lengths[:, None]
            keep = key_mask[:, None, None].to(x.dtype)
        for stage in (self.stage1, self.stage2):
            for block in stage:
                x = self._masked(block(x, key_mask), keep)
        maps = []
        for trans, stage in ((self.trans3, self.stage3), (self.trans4, self.stage4)):
            x = self._masked(trans(x, key_mask), keep)
            for block in stage:
                x, attn = block(x, key_mask)
                x = self._masked(x, keep)
                maps.append(attn)
        return self.norm(self.embedding(self.pool(x, lengths))), maps

    @staticmethod
    def _masked(x: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        return x if keep is None else x * keep


class BCCMT(nn.Module):
    """BC-CMT speaker embedder: ``forward(wav (B, T), lengths) -> embeddings (B, E)``."""

    def __init__(self, cfg: BCCMTConfig) -> None:
        super().__init__()
        if cfg.n_mels % 16:
            raise ValueError(
                f"n_mels must be a multiple of 16 (4 frequency halvings), got {cfg.n_mels}"
            )
        self.frontend = Fbank(n_mels=cfg.n_mels, sample_rate=cfg.sample_rate)
        self.network = BCCMTNet(cfg)

    def forward_with_attention(
        self, wav: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Embeddings and the temporal attention maps of every BC-CMT block (in order)."""
        feats, frames = self.frontend(wav, lengths)
        return self.network(feats, frames if lengths is not None else None)

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_with_attention(wav, lengths)[0]


TINY = BCCMTConfig()
SMALL = BCCMTConfig(stem_channels=24, channels=(24, 48, 64, 96), cmt_blocks=(3, 3))
BASE = BCCMTConfig(
    stem_channels=32,
    channels=(32, 64, 96, 128),
    cmt_blocks=(3, 4),
    embed_dim=256,
    pool_bottleneck=128,
)
#: A few thousand parameters, every code path of the family: for the every-model tests.
DEBUG = BCCMTConfig(
    stem_channels=8,
    channels=(8, 8, 16, 16),
    conv_blocks=(1, 1),
    cmt_blocks=(1, 1),
    heads=2,
    pool_bottleneck=8,
    embed_dim=16,
)


register_variants(
    BCCMT,
    task="spk",
    tags=("bccmt",),
    variants={
        "bccmt_tiny": Variant(TINY, "BC-CMT Tiny speaker embedder (268,752 params)"),
        "bccmt_small": Variant(SMALL, "BC-CMT Small speaker embedder"),
        "bccmt_base": Variant(BASE, "BC-CMT Base speaker embedder (KD teacher)"),
        "debug_bccmt": Variant(DEBUG, "tiny BC-CMT for tests", ("debug",)),
    },
)
