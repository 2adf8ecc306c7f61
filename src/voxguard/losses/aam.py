"""Additive angular margin softmax (AAM-softmax / ArcFace, Deng et al. 2019) for speaker training.

The target logit ``s cos(theta_y)`` becomes ``s cos(theta_y + m)``; other logits stay
``s cos(theta_j)``. Past ``theta_y > pi - m`` (where ``cos(theta + m)`` stops decreasing) the
usual linear fallback ``cos(theta) - m sin(m)`` keeps the penalty monotonic. The margin can be
warmed up from 0 with :func:`margin_schedule` (``set_margin`` each step).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class AAMSoftmax(nn.Module):
    """AAM-softmax classifier head and loss.

    Args:
        embed_dim: embedding size.
        num_classes: number of training speakers.
        margin: angular margin ``m`` in radians.
        scale: logit scale ``s``.
    """

    def __init__(
        self, embed_dim: int, num_classes: int, margin: float = 0.2, scale: float = 30.0
    ) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"AAMSoftmax needs at least 2 classes, got {num_classes}")
        self.weight = nn.Parameter(torch.empty(num_classes, embed_dim))
        nn.init.xavier_normal_(self.weight)
        self.scale = scale
        self.set_margin(margin)

    def set_margin(self, margin: float) -> None:
        """Change the margin (used by the warm-up schedule)."""
        self.margin = float(margin)
        self._cos_m, self._sin_m = math.cos(margin), math.sin(margin)
        self._threshold = math.cos(math.pi - margin)
        self._fallback = math.sin(math.pi - margin) * margin

    def cosine(self, emb: torch.Tensor) -> torch.Tensor:
        """Cosine similarity of each embedding to each class centre, ``(B, num_classes)``."""
        return nn.functional.linear(
            nn.functional.normalize(emb), nn.functional.normalize(self.weight)
        )

    def logits(self, emb: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Scaled logits with the margin applied to each row's target class."""
        cos = self.cosine(emb).clamp(-1.0, 1.0)
        sin = torch.sqrt((1.0 - cos * cos).clamp(min=0.0))
        phi = cos * self._cos_m - sin * self._sin_m
        phi = torch.where(cos > self._threshold, phi, cos - self._fallback)
        target = nn.functional.one_hot(labels, cos.shape[1]).to(cos.dtype)
        return self.scale * (target * phi + (1.0 - target) * cos)

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-entropy loss and the accuracy (of the margin-free cosine) of a batch."""
        loss = nn.functional.cross_entropy(self.logits(emb, labels), labels)
        with torch.no_grad():
            acc = (self.cosine(emb).argmax(1) == labels).float().mean()
        return loss, acc


def margin_schedule(step: int, total_warmup: int, margin: float, start: int = 0) -> float:
    """Margin at ``step``: 0 before ``start``, then linear up to ``margin`` over ``total_warmup`` steps."""
    if step < start:
        return 0.0
    if total_warmup <= 0:
        return margin
    return margin * min(1.0, (step - start) / total_warmup)
