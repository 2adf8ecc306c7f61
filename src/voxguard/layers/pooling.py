"""Temporal pooling layers for speaker embeddings (frame features -> one vector).

All layers take frame features ``(B, D, T)`` (or ``(B, C, F, T)`` for the frequency-statistics
variant) and optional ``lengths`` (B,) in frames, and ignore padded frames.

- :class:`TemporalStatsPooling`: mean and standard deviation over time (x-vector).
- :class:`AttentiveStatsPooling`: attention-weighted mean and std (Okabe et al. 2018), with the
  ECAPA-TDNN global-context option (utterance mean/std appended to the attention input).
- :class:`FreqStatsAttentivePooling`: BC-CMT's frequency-statistics-dependent attentive
  statistics pooling: the attention input of each frame is the per-channel mean and std over
  frequency, so the weights depend on the frequency statistics of the frame.
"""

from __future__ import annotations

import torch
from torch import nn


def frame_mask(
    lengths: torch.Tensor | None, batch: int, total: int, device: torch.device
) -> torch.Tensor:
    """Float ``(B, 1, T)`` mask (1 for valid frames); all ones when ``lengths`` is None."""
    if lengths is None:
        return torch.ones(batch, 1, total, device=device)
    lengths = torch.clamp(lengths.to(device), min=1, max=total)
    return (torch.arange(total, device=device)[None] < lengths[:, None]).float()[:, None]


def weighted_stats(x: torch.Tensor, w: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Concatenated weighted mean and std over the last axis; ``w`` sums to 1 over it."""
    mean = (x * w).sum(-1)
    var = ((x - mean[..., None]) ** 2 * w).sum(-1)
    return torch.cat([mean, torch.sqrt(var.clamp(min=eps))], dim=-1)


class TemporalStatsPooling(nn.Module):
    """Mean and std over the valid frames: ``(B, D, T) -> (B, 2D)``."""

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        mask = frame_mask(lengths, x.shape[0], x.shape[-1], x.device)
        return weighted_stats(x, mask / mask.sum(-1, keepdim=True))


class AttentiveStatsPooling(nn.Module):
    """Attentive statistics pooling ``(B, D, T) -> (B, 2D)``.

    Args:
        channels: input dimension ``D``.
        bottleneck: attention hidden size.
        global_context: append the utterance mean and std to each frame (ECAPA-TDNN).
    """

    def __init__(self, channels: int, bottleneck: int = 128, global_context: bool = True) -> None:
        super().__init__()
        self.global_context = global_context
        in_dim = channels * 3 if global_context else channels
        self.attention = nn.Sequential(
            nn.Conv1d(in_dim, bottleneck, 1),
            nn.ReLU(),
            nn.BatchNorm1d(bottleneck),
            nn.Tanh(),
            nn.Conv1d(bottleneck, channels, 1),
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        mask = frame_mask(lengths, x.shape[0], x.shape[-1], x.device)
        ctx = x
        if self.global_context:
            stats = weighted_stats(x, mask / mask.sum(-1, keepdim=True))
            mean, std = stats.chunk(2, dim=-1)
            t = x.shape[-1]
            ctx = torch.cat(
                [x, mean[..., None].expand(-1, -1, t), std[..., None].expand(-1, -1, t)], 1
            )
        logits = self.attention(ctx).masked_fill(mask == 0, -1e4)
        return weighted_stats(x, torch.softmax(logits, dim=-1))


class FreqStatsAttentivePooling(nn.Module):
    """Frequency-statistics-dependent attentive statistics pooling ``(B, C, F, T) -> (B, 2 C F)``.

    The pooled frame features are the flattened ``C x F`` maps; the attention weights (one set
    per output dimension) are computed from the per-channel mean and std over frequency of each
    frame, ``(B, 2C, T)``, plus their utterance-level mean (global context).

    Args:
        channels: channels ``C``.
        freq: frequency bins ``F`` at the pooling input.
        bottleneck: attention hidden size.
    """

    def __init__(self, channels: int, freq: int, bottleneck: int = 64) -> None:
        super().__init__()
        self.out_dim = 2 * channels * freq
        self.attention = nn.Sequential(
            nn.Conv1d(4 * channels, bottleneck, 1),
            nn.ReLU(),
            nn.BatchNorm1d(bottleneck),
            nn.Tanh(),
            nn.Conv1d(bottleneck, channels * freq, 1),
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        b, c, f, t = x.shape
        mask = frame_mask(lengths, b, t, x.device)
        fmean = x.mean(dim=2)
        fstd = torch.sqrt(x.var(dim=2, unbiased=False).clamp(min=1e-5))
        fstats = torch.cat([fmean, fstd], dim=1)  # (B, 2C, T)
        glob = (fstats * mask).sum(-1, keepdim=True) / mask.sum(-1, keepdim=True)
        ctx = torch.cat([fstats, glob.expand(-1, -1, t)], dim=1)
        logits = self.attention(ctx).masked_fill(mask == 0, -1e4)
        return weighted_stats(x.reshape(b, c * f, t), torch.softmax(logits, dim=-1))
