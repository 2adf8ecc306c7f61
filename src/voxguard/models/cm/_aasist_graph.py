"""Building blocks shared by the AASIST family (:mod:`.aasist`, :mod:`.graph_backend`).

The residual encoder and the graph module (GAT-S / GAT-T, graph pools, two HS-GAL branches,
readout). Attribute names follow the official code so that its state dicts load unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from voxguard.layers.graph import (
    HSGAL,
    GraphAttentionLayer,
    GraphPool,
    NodeScoring,
    StackAggregation,
)

Filts = tuple[tuple[int, int], ...]
AASIST_FILTS: Filts = ((1, 32), (32, 32), (32, 64), (64, 64))
TEMPERATURES = (2.0, 2.0, 100.0, 100.0)


class ResidualBlock(nn.Module):
    """RawNet2-style 2-D residual block of the AASIST encoder.

    Faithful to the official code, including its quirk: ``bn1`` (blocks after the first) is
    created but its output is never used (``conv1`` reads the block input). ``bn1`` is kept so
    the official weights load and the parameter counts match, and frozen since it receives no
    gradient. ``pool`` adds the (1, 3) max-pool over time of sinc AASIST; SSL-AASIST has none.
    """

    def __init__(self, in_ch: int, out_ch: int, first: bool = False, pool: bool = True) -> None:
        super().__init__()
        if not first:
            self.bn1 = nn.BatchNorm2d(in_ch).requires_grad_(False)
        self.conv1 = nn.Conv2d(in_ch, out_ch, kernel_size=(2, 3), padding=(1, 1))
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, kernel_size=(2, 3), padding=(0, 1))
        if in_ch != out_ch:
            self.conv_downsample = nn.Conv2d(in_ch, out_ch, kernel_size=(1, 3), padding=(0, 1))
        self.selu = nn.SELU()
        self.mp = nn.MaxPool2d((1, 3)) if pool else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_ch, F, T) -> (B, out_ch, F, T // 3 if pool else T)."""
        out = self.conv2(self.selu(self.bn2(self.conv1(x))))
        identity = self.conv_downsample(x) if hasattr(self, "conv_downsample") else x
        return self.mp(out + identity)


def make_encoder(filts: Filts, pool: bool) -> nn.Sequential:
    """Six residual blocks: filts[0], filts[1], filts[2], then filts[3] three times."""
    widths = [filts[0], filts[1], filts[2], filts[3], filts[3], filts[3]]
    return nn.Sequential(
        *(
            nn.Sequential(ResidualBlock(i, o, first=n == 0, pool=pool))
            for n, (i, o) in enumerate(widths)
        )
    )


class AASISTGraph(nn.Module):
    """The graph part shared by all variants: GAT-S/T, graph pools, two HS-GAL branches, readout.

    Pool ratios: ``pool_S`` uses ``ratios[0]``, ``pool_T`` ``ratios[1]`` and the four pools after
    the first HS-GAL layers ``ratios[2]`` (the official code never reads ``ratios[3]``). A
    ``(train, infer)`` pair per pool gives SpAArSIST's separate ratios.
    """

    def _build_graph(
        self,
        enc_dim: int,
        n_spectral: int,
        gat_dims: tuple[int, int],
        ratios: tuple[tuple[float, float], tuple[float, float], tuple[float, float]],
        temperatures: tuple[float, ...],
        scoring: NodeScoring = "learned",
        aggregation: StackAggregation = "attention",
    ) -> None:
        g0, g1 = gat_dims
        self.pos_S = nn.Parameter(torch.randn(1, n_spectral, enc_dim))
        self.master1 = nn.Parameter(torch.randn(1, 1, g0))
        self.master2 = nn.Parameter(torch.randn(1, 1, g0))
        self.GAT_layer_S = GraphAttentionLayer(enc_dim, g0, temperatures[0])
        self.GAT_layer_T = GraphAttentionLayer(enc_dim, g0, temperatures[1])
        self.HtrgGAT_layer_ST11 = HSGAL(g0, g1, temperatures[2], aggregation)
        self.HtrgGAT_layer_ST12 = HSGAL(g1, g1, temperatures[2], aggregation)
        self.HtrgGAT_layer_ST21 = HSGAL(g0, g1, temperatures[2], aggregation)
        self.HtrgGAT_layer_ST22 = HSGAL(g1, g1, temperatures[2], aggregation)
        self.pool_S = GraphPool(g0, *ratios[0], scoring=scoring)
        self.pool_T = GraphPool(g0, *ratios[1], scoring=scoring)
        self.pool_hS1 = GraphPool(g1, *ratios[2], scoring=scoring)
        self.pool_hT1 = GraphPool(g1, *ratios[2], scoring=scoring)
        self.pool_hS2 = GraphPool(g1, *ratios[2], scoring=scoring)
        self.pool_hT2 = GraphPool(g1, *ratios[2], scoring=scoring)
        self.drop_way = nn.Dropout(0.2)
        self.drop = nn.Dropout(0.5)

    def _branch(
        self,
        first: HSGAL,
        second: HSGAL,
        pool_s: GraphPool,
        pool_t: GraphPool,
        out_t: torch.Tensor,
        out_s: torch.Tensor,
        master: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        t, s, m = first(out_t, out_s, master)
        s, t = pool_s(s), pool_t(t)
        t_aug, s_aug, m_aug = second(t, s, m)
        return self.drop_way(t + t_aug), self.drop_way(s + s_aug), self.drop_way(m + m_aug)

    def _graph_readout(self, e_s: torch.Tensor, e_t: torch.Tensor) -> torch.Tensor:
        """Spectral nodes (B, F, C) + temporal nodes (B, T, C) -> hidden readout (B, 5 * g1)."""
        out_s = self.pool_S(self.GAT_layer_S(e_s))
        out_t = self.pool_T(self.GAT_layer_T(e_t))
        t1, s1, m1 = self._branch(
            self.HtrgGAT_layer_ST11,
            self.HtrgGAT_layer_ST12,
            self.pool_hS1,
            self.pool_hT1,
            out_t,
            out_s,
            self.master1,
        )
        t2, s2, m2 = self._branch(
            self.HtrgGAT_layer_ST21,
            self.HtrgGAT_layer_ST22,
            self.pool_hS2,
            self.pool_hT2,
            out_t,
            out_s,
            self.master2,
        )
        t, s, m = torch.maximum(t1, t2), torch.maximum(s1, s2), torch.maximum(m1, m2)
        return torch.cat(
            [t.abs().amax(dim=1), t.mean(dim=1), s.abs().amax(dim=1), s.mean(dim=1), m.squeeze(1)],
            dim=1,
        )
