"""Score-level fusion of several countermeasures inside one model: ``FusedCM``.

Each branch is a registered CM (contract ``forward(wav (B, T), lengths) -> logits (B, 2)``,
index 1 = bona fide); the fused window score is a linear fusion of the branches' log-odds,
``s = sum_i w_i (logit_i[1] - logit_i[0]) + b`` (each branch's log-odds optionally clipped to
``[-c_i, c_i]`` first), with ``w`` and ``b`` fitted by logistic
regression on a dev set (``recipes/cm/fuse.py``). The model returns ``(-s / 2, s / 2)`` so its
``logit[1] - logit[0]`` is ``s`` and everything downstream (windows, worst-window aggregation,
calibration, ONNX) treats it as any CM. Fusing at the window, before the utterance's worst
window is taken, lets a spoofed part seen by one branch pull the window down.

Why fuse: the default CM's frozen Whisper front-end sees 80 mel bands of magnitude; the LCNN
branch sees the 257-bin linear spectrum, where Griffin-Lim and source-filter vocoder copies
differ from speech (``voxguard.models.cm.lcnn``). Each branch keeps its own architecture, so a
branch can be retrained and refused independently.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from voxguard.models._registry import Variant, build_from_config, register_variants, resolve_config


@dataclass(frozen=True)
class FusedCMConfig:
    """Branches and fusion weights.

    Attributes:
        branches: registered CM names, in fusion order.
        branch_configs: per branch, its config overrides (JSON-able dicts); ``upstream_path``
            is set from the field below for the branches that have one.
        upstream_path: the pretrained front-end weights of the branches that read one (the
            card hashes the folder it names).
        weights: fusion weight of each branch's log-odds.
        bias: fusion offset.
        clip: per branch, a bound ``c``: its log-odds are clipped to ``[-c, c]`` before the
            fusion (``None``: not clipped; the field itself ``None``: no branch is). A saturating
            fusion: no branch's vote can outweigh the others' by more than its bound
            (``recipes/cm/clip_study.py``, thirty-sixth session).
    """

    branches: tuple[str, ...] = ("attm_whisper_tiny", "lcnn_spec")
    branch_configs: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    upstream_path: str | None = None
    weights: tuple[float, ...] = (1.0, 1.0)
    bias: float = 0.0
    sample_rate: int = 16000
    clip: tuple[float | None, ...] | None = None


def _branch_config(name: str, overrides: dict[str, Any], upstream_path: str | None) -> Any:
    fields = {f.name for f in dataclasses.fields(resolve_config(name))}
    if "upstream_path" in fields:
        overrides = {**overrides, "upstream_path": upstream_path}
    return resolve_config(name, **overrides)


class FusedCM(nn.Module):
    """``branches`` (a ``ModuleList`` of CMs) -> linear fusion of their log-odds per window."""

    def __init__(self, cfg: FusedCMConfig = FusedCMConfig()) -> None:
        super().__init__()
        if len(cfg.weights) != len(cfg.branches):
            raise ValueError(f"{len(cfg.branches)} branches but {len(cfg.weights)} fusion weights")
        if cfg.clip is not None:
            if len(cfg.clip) != len(cfg.branches):
                raise ValueError(f"{len(cfg.branches)} branches but {len(cfg.clip)} clip bounds")
            if any(c is not None and not (isinstance(c, int | float) and c > 0) for c in cfg.clip):
                raise ValueError(f"clip bounds must be positive or None, got {list(cfg.clip)}")
        overrides = cfg.branch_configs or tuple({} for _ in cfg.branches)
        if len(overrides) != len(cfg.branches):
            raise ValueError(f"{len(cfg.branches)} branches but {len(overrides)} branch configs")
        self.branches = nn.ModuleList(
            build_from_config(name, _branch_config(name, dict(o), cfg.upstream_path))
            for name, o in zip(cfg.branches, overrides, strict=True)
        )
        self.register_buffer(
            "weights", torch.tensor(cfg.weights, dtype=torch.float32), persistent=False
        )
        # no clip field: the plain linear fusion, graph unchanged (the shipped bundles before it)
        bounds = (
            None
            if cfg.clip is None
            else torch.tensor([float("inf") if c is None else float(c) for c in cfg.clip])
        )
        self.register_buffer("clip_bounds", bounds, persistent=False)
        self.bias = float(cfg.bias)
        self.sample_rate = cfg.sample_rate
        # frozen pretrained parts of a branch are restored from their source, not saved
        self.external_state_prefixes = tuple(
            f"branches.{i}.{p}"
            for i, b in enumerate(self.branches)
            for p in getattr(b, "external_state_prefixes", ())
        )

    def branch_scores(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Each branch's log-odds ``(B, n_branches)``."""
        cols = []
        for branch in self.branches:
            logits = branch(wav, lengths)
            cols.append(logits[:, 1] - logits[:, 0])
        return torch.stack(cols, dim=1)

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(B, 2)`` whose difference is the fused log-odds (index 1 = bona fide)."""
        scores = self.branch_scores(wav, lengths)
        if self.clip_bounds is not None:
            scores = torch.maximum(torch.minimum(scores, self.clip_bounds), -self.clip_bounds)
        fused = scores @ self.weights + self.bias
        return torch.stack([-fused / 2, fused / 2], dim=1)


register_variants(
    FusedCM,
    task="cm",
    variants={
        "fused_attm_lcnn": Variant(
            FusedCMConfig(
                ("attm_whisper_tiny", "lcnn_spec"),
                ({"num_layers": 4, "freeze": "all", "include_stem": True}, {}),
            ),
            "score fusion: AttM over Whisper tiny.en (stem + 4 layers) + LCNN on the log spectrogram",
        ),
        "debug_fused_cm": Variant(
            FusedCMConfig(
                ("debug_ssl_cm", "lcnn_spec"), ({}, {"width": 0.25}), None, (1.0, 0.5), 0.1
            ),
            "tiny fusion (random debug SSL CM + quarter-width LCNN), for tests",
            ("debug",),
        ),
    },
)
