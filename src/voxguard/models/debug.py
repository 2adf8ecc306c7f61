"""Tiny debug models for tests and examples (a few thousand parameters, any input length).

They follow the same contracts as the real models:

- CM models: ``forward(wav (B, T), lengths (B,) | None) -> logits (B, 2)``, index 1 = bona fide;
  score = logit[1] - logit[0] (higher = bona fide).
- Speaker models: ``forward(wav (B, T), lengths (B,) | None) -> embeddings (B, E)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from voxguard.models._registry import Variant, register_variants


@dataclass(frozen=True)
class DebugConfig:
    channels: int = 8
    embed_dim: int = 16
    sample_rate: int = 16000


def _masked_mean(x: torch.Tensor, lengths: torch.Tensor | None, total: int) -> torch.Tensor:
    """Mean over the last axis of ``x`` (B, C, T') counting only frames inside ``lengths``."""
    if lengths is None:
        return x.mean(dim=-1)
    frames = torch.clamp((lengths.to(x.device) * x.shape[-1] + total - 1) // total, min=1)
    mask = (torch.arange(x.shape[-1], device=x.device)[None] < frames[:, None]).to(x.dtype)
    return (x * mask[:, None]).sum(-1) / mask.sum(-1, keepdim=True)


class _DebugNet(nn.Module):
    def __init__(self, cfg: DebugConfig, out_dim: int) -> None:
        super().__init__()
        self.sample_rate = cfg.sample_rate
        self.conv = nn.Sequential(
            nn.Conv1d(1, cfg.channels, 400, stride=160),
            nn.ReLU(),
            nn.Conv1d(cfg.channels, cfg.embed_dim, 3, padding=1),
            nn.ReLU(),
        )
        self.out = nn.Linear(cfg.embed_dim, out_dim)

    def embed(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if wav.shape[-1] < 400:
            wav = nn.functional.pad(wav, (0, 400 - wav.shape[-1]))
        return _masked_mean(self.conv(wav[:, None]), lengths, wav.shape[-1])


class DebugCM(_DebugNet):
    """Tiny CM: strided conv on raw samples, masked mean, 2 logits."""

    def __init__(self, cfg: DebugConfig) -> None:
        super().__init__(cfg, 2)

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.out(self.embed(wav, lengths))


class DebugSpeaker(_DebugNet):
    """Tiny speaker embedder: strided conv on raw samples, masked mean, linear embedding."""

    def __init__(self, cfg: DebugConfig) -> None:
        super().__init__(cfg, cfg.embed_dim)

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.out(self.embed(wav, lengths))


register_variants(
    DebugCM,
    task="cm",
    tags=("debug",),
    variants={"debug_cm": Variant(DebugConfig(), "tiny test CM")},
)
register_variants(
    DebugSpeaker,
    task="spk",
    tags=("debug",),
    variants={"debug_spk": Variant(DebugConfig(), "tiny test speaker model")},
)
