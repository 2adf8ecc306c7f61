"""AttM classifier head (Pan et al., Interspeech 2024): LSTM -> mean over time -> Linear.

The head reads merged SSL features ``(B, T, D)`` with frame lengths and returns CM logits
``(B, 2)`` (index 1 = bona fide). At ``D = 1024`` it has 935,810 parameters. Registered AttM
models compose it with an SSL front-end and the attentive merge in :mod:`.ssl_cm`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from voxguard.frontends.merge import masked_time_mean


@dataclass(frozen=True)
class AttMHeadConfig:
    """Sizes of the AttM classifier."""

    in_dim: int = 1024
    hidden: int = 192
    num_classes: int = 2


class AttMHead(nn.Module):
    """``LSTM(D -> 192)`` (one layer, unidirectional) -> masked mean over time -> ``Linear(192, 2)``.

    The LSTM runs forward in time, so padding after a sequence never changes its valid outputs;
    the mean skips padded frames, so a padded item scores as it does alone.
    """

    def __init__(self, cfg: AttMHeadConfig = AttMHeadConfig()) -> None:
        super().__init__()
        self.config = cfg
        self.lstm = nn.LSTM(cfg.in_dim, cfg.hidden, batch_first=True)
        self.out = nn.Linear(cfg.hidden, cfg.num_classes)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(B, 2)`` from features ``(B, T, D)`` and optional frame ``lengths``."""
        if feats.dim() != 3 or feats.shape[-1] != self.config.in_dim:
            raise ValueError(
                f"AttMHead expects features (B, T, {self.config.in_dim}), got {tuple(feats.shape)}"
            )
        hidden, _ = self.lstm(feats)
        return self.out(masked_time_mean(hidden, lengths, dim=1))
