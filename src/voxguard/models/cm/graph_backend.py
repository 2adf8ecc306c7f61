"""The AASIST graph backend on SSL features: SSL-AASIST and the SpAArSIST variants.

==================  ======================================================  =========
name                what                                                     params
==================  ======================================================  =========
``ssl_aasist``      SSL-AASIST backend (1024-d features in, 160 -> 2 out)    447,242
``spaarsist_base``  backend with 160 -> 1024 embedding + FF head             611,784*
``spaarsist_mag``   ... with magnitude node scoring                          611,522*
``spaarsist_rank1`` ... magnitude + mean aggregation, k 0.3 / 0.1            586,434*
==================  ======================================================  =========

\\* backend without its 658,178-param classification head, which is how the SpAArSIST paper and
its public code count them; see :meth:`GraphBackend.num_params` and ``docs/models_cm.md``.

Build one with another feature size through the registry, e.g.
``create_model("spaarsist_rank1", in_dim=768)``; ``forward(feats (B, T, in_dim), lengths=None)``
returns logits ``(B, 2)``, index 1 = bona fide. The sinc AASIST is in :mod:`.aasist`, the shared
graph module in :mod:`._aasist_graph`, the SpAArSIST evaluation protocol (variants of a base
checkpoint) and the public-checkpoint importer in :mod:`.spaarsist`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from voxguard.layers.graph import NodeScoring, StackAggregation
from voxguard.models._registry import Variant, register_variants
from voxguard.models.cm._aasist_graph import (
    AASIST_FILTS,
    TEMPERATURES,
    AASISTGraph,
    Filts,
    make_encoder,
)


@dataclass(frozen=True)
class GraphBackendConfig:
    """Architecture of the AASIST graph backend on SSL features (SSL-AASIST / SpAArSIST).

    Attributes:
        in_dim: SSL feature size D of the ``(B, T, D)`` input (1024 for XLS-R / WavLM Large).
        ll_dim: output size of the input projection ``LL`` (gives ``ll_dim // 3`` spectral nodes).
        filts: encoder block widths (in, out); the last one is repeated three times.
        gat_dims: node sizes of the GAT layers and of the HS-GAL layers.
        pool_ratios: per-pool keep ratios (S, T, HS-GAL pools, unused) used when ``k_train`` is None.
        temperatures: softmax temperatures of GAT-S, GAT-T and the HS-GAL layers.
        node_scoring: graph-pool scores, ``"learned"`` (AASIST) or ``"magnitude"`` (SpAArSIST).
        stack_aggregation: HS-GAL update, ``"attention"`` (AASIST) or ``"mean"`` (SpAArSIST).
        k_train: keep ratio of all six graph pools in training mode (None: ``pool_ratios``).
        k_infer: keep ratio of all six graph pools in eval mode (None: same as ``k_train``).
        out_dim: size of the output layer on the 160-d readout (2: it gives the logits).
        head_dims: hidden sizes of the feed-forward head (Linear-BN-ReLU each, then a
            Linear to 2 logits) on the ``out_dim`` embedding; empty: no head.
    """

    in_dim: int = 1024
    ll_dim: int = 128
    filts: Filts = AASIST_FILTS
    gat_dims: tuple[int, int] = (64, 32)
    pool_ratios: tuple[float, float, float, float] = (0.5, 0.5, 0.5, 0.5)
    temperatures: tuple[float, float, float, float] = TEMPERATURES
    node_scoring: NodeScoring = "learned"
    stack_aggregation: StackAggregation = "attention"
    k_train: float | None = None
    k_infer: float | None = None
    out_dim: int = 2
    head_dims: tuple[int, ...] = ()


SSL_AASIST = GraphBackendConfig()
SPAARSIST_BASE = GraphBackendConfig(out_dim=1024, head_dims=(512, 256))
SPAARSIST_MAG = GraphBackendConfig(out_dim=1024, head_dims=(512, 256), node_scoring="magnitude")
SPAARSIST_RANK1 = GraphBackendConfig(
    out_dim=1024,
    head_dims=(512, 256),
    node_scoring="magnitude",
    stack_aggregation="mean",
    k_train=0.3,
    k_infer=0.1,
)


_DEBUG = GraphBackendConfig(
    in_dim=32,
    ll_dim=30,
    filts=((1, 4), (4, 4), (4, 8), (8, 8)),
    gat_dims=(8, 6),
    out_dim=16,
    head_dims=(12, 8),
)
#: Tiny SpAArSIST backends (same code paths, ~10k params) for the every-model tests.
DEBUG_SPAARSIST_BASE = _DEBUG
DEBUG_SPAARSIST_RANK1 = replace(
    _DEBUG, node_scoring="magnitude", stack_aggregation="mean", k_train=0.3, k_infer=0.1
)


def _validate(cfg: GraphBackendConfig) -> None:
    """Reject configs that cannot build, naming the field to fix."""
    if cfg.node_scoring not in ("learned", "magnitude"):
        raise ValueError(f"node_scoring must be 'learned' or 'magnitude', got {cfg.node_scoring!r}")
    if cfg.stack_aggregation not in ("attention", "mean"):
        raise ValueError(
            f"stack_aggregation must be 'attention' or 'mean', got {cfg.stack_aggregation!r}"
        )
    if cfg.k_train is None and cfg.k_infer is not None:
        raise ValueError("k_infer needs k_train (set both, or neither to use pool_ratios)")
    if cfg.out_dim != 2 and not cfg.head_dims:
        raise ValueError(
            f"GraphBackendConfig(out_dim={cfg.out_dim}) needs head_dims to map the "
            "embedding to 2 logits (use out_dim=2 for no head)"
        )


class _HeadBatchNorm(nn.BatchNorm1d):
    """BatchNorm1d that normalises a training batch of one with its running statistics
    (plain BatchNorm1d cannot) instead of failing; larger batches behave as usual."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] == 1:
            return F.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps
            )
        return super().forward(x)


def _ff_head(in_dim: int, hidden: tuple[int, ...]) -> nn.Sequential:
    """Linear-BN-ReLU per hidden size, then Linear to 2 logits (the public SpAArSIST head)."""
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(in_dim, h), _HeadBatchNorm(h), nn.ReLU()]
        in_dim = h
    return nn.Sequential(*layers, nn.Linear(in_dim, 2))


class GraphBackend(AASISTGraph):
    """AASIST graph backend on SSL features: SSL-AASIST and SpAArSIST in one class.

    ``LL`` projects the features, a (3, 3) max-pool and six residual blocks (no per-block
    pooling) encode them, attentive pooling over time / frequency yields the spectral and
    temporal nodes, then the AASIST graph module gives a 160-d readout, ``out_layer`` maps it
    to ``out_dim`` and the optional ``classifier`` head to 2 logits (index 1 = bona fide).
    ``lengths`` is accepted for the CM interface but padded frames are not masked.

    ``head_children`` names the task head that the SpAArSIST paper leaves out of its parameter
    counts; ``voxguard complexity`` reports it separately (``params`` vs ``params_total``).
    """

    input_kind = "features"
    head_children = ("classifier",)

    def __init__(self, cfg: GraphBackendConfig = SSL_AASIST) -> None:
        super().__init__()
        _validate(cfg)
        self.config = cfg
        self.feature_dim = cfg.in_dim
        enc_dim = cfg.filts[-1][-1]
        if cfg.k_train is None:
            r = cfg.pool_ratios
            ratios = ((r[0], r[0]), (r[1], r[1]), (r[2], r[2]))
        else:
            pair = (cfg.k_train, cfg.k_train if cfg.k_infer is None else cfg.k_infer)
            ratios = (pair, pair, pair)
        self.LL = nn.Linear(cfg.in_dim, cfg.ll_dim)
        self.first_bn = nn.BatchNorm2d(1)
        self.first_bn1 = nn.BatchNorm2d(enc_dim)
        self.selu = nn.SELU()
        self.encoder = make_encoder(cfg.filts, pool=False)
        self.attention = nn.Sequential(
            nn.Conv2d(enc_dim, 2 * enc_dim, kernel_size=1),
            nn.SELU(),
            nn.BatchNorm2d(2 * enc_dim),
            nn.Conv2d(2 * enc_dim, enc_dim, kernel_size=1),
        )
        self._build_graph(
            enc_dim,
            cfg.ll_dim // 3,
            cfg.gat_dims,
            ratios,
            cfg.temperatures,
            cfg.node_scoring,
            cfg.stack_aggregation,
        )
        self.out_layer = nn.Linear(5 * cfg.gat_dims[1], cfg.out_dim)
        if cfg.head_dims:
            self.classifier = _ff_head(cfg.out_dim, cfg.head_dims)

    def embed(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The hidden readout before the output layer, (B, 5 * gat_dims[1]) = (B, 160)."""
        if not torch.jit.is_tracing() and (
            feats.dim() != 3 or feats.shape[-1] != self.config.in_dim
        ):
            raise ValueError(
                f"GraphBackend expects features (B, T, {self.config.in_dim}), got shape "
                f"{tuple(feats.shape)} (merge SSL layers first, or set in_dim)"
            )
        x = self.LL(feats).transpose(1, 2).unsqueeze(1)  # (B, 1, ll_dim, T)
        x = self.selu(self.first_bn(F.max_pool2d(x, (3, 3))))
        x = self.selu(self.first_bn1(self.encoder(x)))  # (B, C, F, T)
        w = self.attention(x)
        e_s = (x * F.softmax(w, dim=-1)).sum(dim=-1).transpose(1, 2) + self.pos_S
        e_t = (x * F.softmax(w, dim=-2)).sum(dim=-2).transpose(1, 2)
        return self._graph_readout(e_s, e_t)

    def embedding(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The ``out_layer`` output, (B, out_dim): SpAArSIST's 1024-d utterance embedding."""
        return self.out_layer(self.drop(self.embed(feats, lengths)))

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """SSL features (B, T, in_dim) -> logits (B, 2), index 1 = bona fide."""
        out = self.embedding(feats, lengths)
        return self.classifier(out) if self.config.head_dims else out

    def num_params(self, include_head: bool = True) -> int:
        """Parameter count; ``include_head=False`` leaves out the FF ``classifier`` head, which
        is how the SpAArSIST paper reports backend sizes (611,784 / 611,522 / 586,434)."""
        return sum(
            p.numel()
            for n, p in self.named_parameters()
            if include_head or not n.startswith("classifier.")
        )


register_variants(
    GraphBackend,
    task="cm",
    variants={
        "ssl_aasist": Variant(
            SSL_AASIST, "SSL-AASIST graph backend on (B, T, 1024) SSL features", ("aasist",)
        ),
        "spaarsist_base": Variant(
            SPAARSIST_BASE,
            "SpAArSIST Base backend (learned scoring, attention) + FF head",
            ("spaarsist",),
        ),
        "spaarsist_mag": Variant(
            SPAARSIST_MAG,
            "SpAArSIST backend with magnitude node scoring + FF head",
            ("spaarsist",),
        ),
        "spaarsist_rank1": Variant(
            SPAARSIST_RANK1,
            "SpAArSIST rank-1: magnitude + mean aggregation, k 0.3/0.1, FF head",
            ("spaarsist",),
        ),
        "debug_spaarsist_base": Variant(
            DEBUG_SPAARSIST_BASE, "tiny SpAArSIST Base backend for tests", ("spaarsist", "debug")
        ),
        "debug_spaarsist_rank1": Variant(
            DEBUG_SPAARSIST_RANK1, "tiny SpAArSIST rank-1 backend for tests", ("spaarsist", "debug")
        ),
    },
    tags=("ssl-backend",),
)
