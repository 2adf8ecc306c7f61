"""ECAPA-TDNN (Desplanques et al., Interspeech 2020): the field's reference speaker embedder.

C = 512 channels, three SE-Res2Net blocks (kernel 3, dilations 2/3/4, scale 8), multi-layer
feature aggregation to 1536 channels, attentive statistics pooling with global context, and a
192-dim embedding, as in speechbrain / wespeaker ``ECAPA_TDNN_c512``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from voxguard.frontends.fbank import Fbank
from voxguard.layers.pooling import AttentiveStatsPooling
from voxguard.models._registry import Variant, register_variants


@dataclass(frozen=True)
class ECAPAConfig:
    """Architecture of ECAPA-TDNN."""

    n_mels: int = 80
    channels: int = 512
    dilations: tuple[int, ...] = (2, 3, 4)
    scale: int = 8
    se_bottleneck: int = 128
    mfa_channels: int = 1536
    attention_bottleneck: int = 128
    embed_dim: int = 192
    sample_rate: int = 16000


def _tdnn(cin: int, cout: int, kernel: int = 1, dilation: int = 1) -> nn.Sequential:
    pad = dilation * (kernel - 1) // 2
    return nn.Sequential(
        nn.Conv1d(cin, cout, kernel, dilation=dilation, padding=pad),
        nn.ReLU(),
        nn.BatchNorm1d(cout),
    )


class SERes2Block(nn.Module):
    """1x1 TDNN -> Res2Net dilated convs -> 1x1 TDNN -> squeeze-excitation, plus identity."""

    def __init__(self, channels: int, dilation: int, scale: int, se_bottleneck: int) -> None:
        super().__init__()
        width = channels // scale
        self.scale = scale
        self.pre = _tdnn(channels, channels)
        self.res2 = nn.ModuleList(_tdnn(width, width, 3, dilation) for _ in range(scale - 1))
        self.post = _tdnn(channels, channels)
        self.se = nn.Sequential(
            nn.Conv1d(channels, se_bottleneck, 1),
            nn.ReLU(),
            nn.Conv1d(se_bottleneck, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = self.pre(x).chunk(self.scale, dim=1)
        outs, prev = [parts[0]], None
        for part, conv in zip(parts[1:], self.res2, strict=True):
            prev = conv(part if prev is None else part + prev)
            outs.append(prev)
        h = self.post(torch.cat(outs, dim=1))
        return x + h * self.se(h.mean(dim=-1, keepdim=True))


class ECAPANet(nn.Module):
    """The network on fbank features: ``(B, T', n_mels) -> embeddings (B, E)``."""

    def __init__(self, cfg: ECAPAConfig) -> None:
        super().__init__()
        c = cfg.channels
        self.stem = _tdnn(cfg.n_mels, c, 5)
        self.blocks = nn.ModuleList(
            SERes2Block(c, d, cfg.scale, cfg.se_bottleneck) for d in cfg.dilations
        )
        self.mfa = nn.Sequential(nn.Conv1d(c * len(cfg.dilations), cfg.mfa_channels, 1), nn.ReLU())
        self.pool = AttentiveStatsPooling(
            cfg.mfa_channels, cfg.attention_bottleneck, global_context=True
        )
        self.pool_norm = nn.BatchNorm1d(2 * cfg.mfa_channels)
        self.embedding = nn.Linear(2 * cfg.mfa_channels, cfg.embed_dim)
        self.norm = nn.BatchNorm1d(cfg.embed_dim)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x = self.stem(feats.transpose(1, 2))
        outs = []
        for block in self.blocks:
            x = block(x)
            outs.append(x)
        h = self.mfa(torch.cat(outs, dim=1))
        return self.norm(self.embedding(self.pool_norm(self.pool(h, lengths))))


class ECAPATDNN(nn.Module):
    """ECAPA-TDNN speaker embedder: ``forward(wav (B, T), lengths) -> embeddings (B, 192)``."""

    def __init__(self, cfg: ECAPAConfig) -> None:
        super().__init__()
        self.frontend = Fbank(n_mels=cfg.n_mels, sample_rate=cfg.sample_rate)
        self.network = ECAPANet(cfg)

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        feats, frames = self.frontend(wav, lengths)
        return self.network(feats, frames if lengths is not None else None)


register_variants(
    ECAPATDNN,
    task="spk",
    variants={
        "ecapa_tdnn": Variant(ECAPAConfig(), "ECAPA-TDNN C=512, 192-dim embeddings (reference)"),
        "debug_ecapa": Variant(
            ECAPAConfig(
                channels=32, se_bottleneck=8, mfa_channels=48, attention_bottleneck=8, embed_dim=16
            ),
            "tiny ECAPA-TDNN for tests",
            ("debug",),
        ),
    },
)
