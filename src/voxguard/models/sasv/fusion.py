"""SASV 2022 embedding fusion (baseline 2): an MLP on [enrol ASV, test ASV, test CM] embeddings.

``forward(enrol (B, E_asv), test (B, E_asv), cm (B, E_cm)) -> logits (B, 2)``: the three
embeddings are concatenated and passed through 256 -> 128 -> 64 (LeakyReLU) -> 2; index 1 =
accept (bona fide target); the SASV score is ``logit[1] - logit[0]``. An enrolled speaker is the
mean of its enrollment embeddings (:func:`voxguard.scoring.cosine.enroll_mean`). Defaults match
ECAPA-TDNN (192) and the AASIST/SpAArSIST CM embedding (160).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from voxguard.models._registry import Variant, register_variants


@dataclass(frozen=True)
class SASVFusionConfig:
    """Sizes of the embedding-fusion MLP."""

    asv_dim: int = 192
    cm_dim: int = 160
    hidden: tuple[int, ...] = (256, 128, 64)


class SASVEmbeddingFusion(nn.Module):
    """MLP over concatenated enrol/test speaker embeddings and the test CM embedding."""

    def __init__(self, cfg: SASVFusionConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        prev = 2 * cfg.asv_dim + cfg.cm_dim
        for width in cfg.hidden:
            layers += [nn.Linear(prev, width), nn.LeakyReLU(0.3)]
            prev = width
        layers.append(nn.Linear(prev, 2))
        self.mlp = nn.Sequential(*layers)
        self.dims = (cfg.asv_dim, cfg.asv_dim, cfg.cm_dim)

    def forward(self, enrol: torch.Tensor, test: torch.Tensor, cm: torch.Tensor) -> torch.Tensor:
        got = (enrol.shape[-1], test.shape[-1], cm.shape[-1])
        if got != self.dims:
            raise ValueError(
                f"SASV fusion expects embedding sizes {self.dims} (enrol, test, cm), got {got}"
            )
        return self.mlp(torch.cat([enrol, test, cm], dim=-1))

    def score(self, enrol: torch.Tensor, test: torch.Tensor, cm: torch.Tensor) -> torch.Tensor:
        """SASV score ``logit[1] - logit[0]`` (higher = accept)."""
        logits = self(enrol, test, cm)
        return logits[:, 1] - logits[:, 0]


register_variants(
    SASVEmbeddingFusion,
    task="sasv",
    variants={
        "sasv_fusion_mlp": Variant(
            SASVFusionConfig(), "SASV 2022 embedding fusion MLP 256-128-64-2"
        ),
    },
)
