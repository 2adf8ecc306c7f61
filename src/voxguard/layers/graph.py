"""Graph layers of AASIST (Jung et al., ICASSP 2022) and their SpAArSIST switches.

- :class:`GraphAttentionLayer` (GAT): attention over all node pairs of one graph.
- :class:`HSGAL`: the heterogeneous stacking graph attention layer, which joins a temporal and a
  spectral graph and updates a stack ("master") node. ``aggregation="mean"`` is SpAArSIST's
  attention-free variant.
- :class:`GraphPool`: top-k node pooling, with learned (sigmoid-gated) or magnitude scoring and
  separate keep ratios in train and eval mode.
- :func:`num_kept`: ``k = max(int(N * ratio), 1)`` from the runtime node count, written so that
  ``torch.onnx.export`` (TorchScript or dynamo) keeps it symbolic.

Parameter names follow the official implementation so that its state dicts load unchanged.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

NodeScoring = Literal["learned", "magnitude"]
StackAggregation = Literal["attention", "mean"]


def num_kept(
    n: int | torch.SymInt | torch.Tensor, ratio: float
) -> int | torch.SymInt | torch.Tensor:
    """Number of nodes top-k pooling keeps: ``max(int(n * ratio), 1)`` with float64 semantics.

    A plain ``int`` gives the official Python rule. A traced size (a tensor under TorchScript
    tracing, a ``SymInt`` under ``torch.export``) gives the same number as a graph computation,
    so one exported file works at every input length. There ``ratio`` is split into an integer
    mantissa and a power of two (``ratio = mant * 2**shift``, both exact), which keeps the
    product bit-identical to Python's even where an exporter would store a float constant in
    single precision: ``int(90 * 0.7)`` is 62, not 63, and ONNX must agree.
    """
    if isinstance(n, int) or not (isinstance(n, torch.Tensor) or torch.compiler.is_exporting()):
        return max(int(n * ratio), 1)
    frac, exp = math.frexp(ratio)
    mant = torch.scalar_tensor(int(frac * 2**53), dtype=torch.int64).to(torch.float64)
    scale = math.ldexp(1.0, exp - 53)
    size = n if isinstance(n, torch.Tensor) else torch.scalar_tensor(n, dtype=torch.int64)
    k = torch.floor(size.to(torch.float64) * mant * scale).to(torch.int64)
    if isinstance(n, torch.Tensor):
        return torch.clamp(k, min=1)
    kept = k.item()
    torch._check(kept >= 0)
    torch._check(kept <= n)
    return torch.sym_max(kept, 1)


def _xavier_param(*size: int) -> nn.Parameter:
    out = nn.Parameter(torch.empty(*size))
    nn.init.xavier_normal_(out)
    return out


def _pairwise(x: torch.Tensor) -> torch.Tensor:
    """(B, N, D) -> (B, N, N, D) with entry [i, j] = x_i * x_j."""
    return x.unsqueeze(2) * x.unsqueeze(1)


def _node_bn(bn: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    """BatchNorm1d over the feature axis of (B, N, D) node features."""
    return bn(x.reshape(-1, x.shape[-1])).reshape(x.shape)


class GraphAttentionLayer(nn.Module):
    """Graph attention layer (GAT) over a fully connected graph of ``N`` nodes.

    Args:
        in_dim: node feature size in.
        out_dim: node feature size out.
        temperature: softmax temperature of the attention map.
    """

    def __init__(self, in_dim: int, out_dim: int, temperature: float = 1.0) -> None:
        super().__init__()
        self.att_proj = nn.Linear(in_dim, out_dim)
        self.att_weight = _xavier_param(out_dim, 1)
        self.proj_with_att = nn.Linear(in_dim, out_dim)
        self.proj_without_att = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.input_drop = nn.Dropout(p=0.2)
        self.act = nn.SELU()
        self.temp = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, in_dim) -> (B, N, out_dim)."""
        x = self.input_drop(x)
        att = torch.tanh(self.att_proj(_pairwise(x))) @ self.att_weight  # (B, N, N, 1)
        att = F.softmax(att / self.temp, dim=-2).squeeze(-1)
        x = self.proj_with_att(att @ x) + self.proj_without_att(x)
        return self.act(_node_bn(self.bn, x))


class HSGAL(nn.Module):
    """Heterogeneous stacking graph attention layer (the ``HtrgGraphAttentionLayer`` of AASIST).

    Joins two node sets (temporal ``x1`` and spectral ``x2``) into one graph with three learned
    attention vectors (within type 1, within type 2, across types) and updates a stack node.

    With ``aggregation="mean"`` (SpAArSIST) the attention projections ``att_proj``,
    ``att_projM``, ``proj_with_att`` and ``proj_with_attM`` do not exist: the nodes become
    ``proj_without_att`` of the type-projected inputs and the stack node ``proj_without_attM`` of
    the incoming stack node, with no batch norm or activation, as in the public SpAArSIST code.
    That code still registers the four attention vectors and the batch norm, and the published
    parameter counts include them, so they are kept here (loadable, counted) but frozen
    (``requires_grad=False``) because they do not influence the output.

    Args:
        in_dim: node feature size in.
        out_dim: node feature size out.
        temperature: softmax temperature of the attention maps.
        aggregation: ``"attention"`` (AASIST) or ``"mean"`` (SpAArSIST).
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        temperature: float = 1.0,
        aggregation: StackAggregation = "attention",
    ) -> None:
        super().__init__()
        if aggregation not in ("attention", "mean"):
            raise ValueError(f"aggregation must be 'attention' or 'mean', got {aggregation!r}")
        self.aggregation = aggregation
        self.temp = temperature
        self.proj_type1 = nn.Linear(in_dim, in_dim)
        self.proj_type2 = nn.Linear(in_dim, in_dim)
        self.att_weight11 = _xavier_param(out_dim, 1)
        self.att_weight22 = _xavier_param(out_dim, 1)
        self.att_weight12 = _xavier_param(out_dim, 1)
        self.att_weightM = _xavier_param(out_dim, 1)
        attention = aggregation == "attention"
        # Registration order reproduces the official state-dict key order.
        if attention:
            self.att_proj = nn.Linear(in_dim, out_dim)
            self.att_projM = nn.Linear(in_dim, out_dim)
            self.proj_with_att = nn.Linear(in_dim, out_dim)
        self.proj_without_att = nn.Linear(in_dim, out_dim)
        if attention:
            self.proj_with_attM = nn.Linear(in_dim, out_dim)
        self.proj_without_attM = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.input_drop = nn.Dropout(p=0.2)
        self.act = nn.SELU()
        if aggregation == "mean":
            for p in (self.att_weight11, self.att_weight22, self.att_weight12, self.att_weightM):
                p.requires_grad_(False)
            self.bn.requires_grad_(False)

    def forward(
        self, x1: torch.Tensor, x2: torch.Tensor, master: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Update both node sets and the stack node.

        Args:
            x1: (B, N1, in_dim) type-1 (temporal) nodes.
            x2: (B, N2, in_dim) type-2 (spectral) nodes.
            master: (B or 1, 1, in_dim) stack node.

        Returns:
            (B, N1, out_dim), (B, N2, out_dim), (B, 1, out_dim).
        """
        n1 = x1.shape[1]
        x = torch.cat([self.proj_type1(x1), self.proj_type2(x2)], dim=1)
        if self.aggregation == "mean":
            x = self.proj_without_att(x)
            master = self.proj_without_attM(master).expand(x.shape[0], -1, -1)
            return x[:, :n1], x[:, n1:], master
        x = self.input_drop(x)
        master = self._update_master(x, master)
        x = self.proj_with_att(self._attention(x, n1) @ x) + self.proj_without_att(x)
        x = self.act(_node_bn(self.bn, x))
        return x[:, :n1], x[:, n1:], master

    def _attention(self, x: torch.Tensor, n1: int) -> torch.Tensor:
        """(B, N, D) -> (B, N, N) attention map ``A[b, i, j]`` (query i, key j), rows summing
        to 1, with type-dependent attention vectors."""
        a = torch.tanh(self.att_proj(_pairwise(x)))  # (B, N, N, out)
        n = x.shape[1]
        idx = torch.arange(n, device=x.device)
        is1 = (idx < n1)[:, None]
        same1 = is1 & is1.T
        same2 = ~is1 & ~is1.T
        scores = torch.where(
            same1,
            (a @ self.att_weight11).squeeze(-1),
            torch.where(
                same2, (a @ self.att_weight22).squeeze(-1), (a @ self.att_weight12).squeeze(-1)
            ),
        )
        # Normalise over the key axis j (each node's weights sum to 1), as the reference does:
        # there the map is (B, N, N, 1) and its softmax over dim=-2 is the key axis.
        return F.softmax(scores / self.temp, dim=-1)

    def _update_master(self, x: torch.Tensor, master: torch.Tensor) -> torch.Tensor:
        att = torch.tanh(self.att_projM(x * master)) @ self.att_weightM  # (B, N, 1)
        att = F.softmax(att / self.temp, dim=-2)
        agg = att.transpose(1, 2) @ x  # (B, 1, D)
        return self.proj_with_attM(agg) + self.proj_without_attM(master)


class GraphPool(nn.Module):
    """Top-k graph pooling.

    ``scoring="learned"`` (AASIST): score = sigmoid(Linear(dropout(h))); the kept nodes are
    multiplied by their score. ``scoring="magnitude"`` (SpAArSIST): score = ||dropout(h)_i||²,
    no parameters, no gating. The kept count is ``max(int(N * k), 1)`` with ``k = k_train`` in
    training mode and ``k_infer`` in eval mode.

    Args:
        in_dim: node feature size.
        k_train: keep ratio in training mode.
        k_infer: keep ratio in eval mode (``None``: same as ``k_train``).
        dropout: dropout applied to the features the scores are computed from.
        scoring: ``"learned"`` or ``"magnitude"``.
    """

    def __init__(
        self,
        in_dim: int,
        k_train: float,
        k_infer: float | None = None,
        dropout: float = 0.3,
        scoring: NodeScoring = "learned",
    ) -> None:
        super().__init__()
        if scoring not in ("learned", "magnitude"):
            raise ValueError(f"scoring must be 'learned' or 'magnitude', got {scoring!r}")
        for r in (k_train, k_infer):
            if r is not None and not 0.0 < r <= 1.0:
                raise ValueError(f"graph pooling ratios must lie in (0, 1], got {r}")
        self.scoring = scoring
        self.k_train = k_train
        self.k_infer = k_train if k_infer is None else k_infer
        self.drop = nn.Dropout(p=dropout) if dropout > 0 else nn.Identity()
        if scoring == "learned":
            self.proj = nn.Linear(in_dim, 1)

    @property
    def ratio(self) -> float:
        """The keep ratio of the current mode."""
        return self.k_train if self.training else self.k_infer

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """(B, N, D) -> (B, max(int(N * ratio), 1), D)."""
        z = self.drop(h)
        if self.scoring == "learned":
            scores = torch.sigmoid(self.proj(z))
            h = h * scores
        else:
            scores = (z * z).sum(dim=-1, keepdim=True)
        k = num_kept(h.shape[1], self.ratio)
        _, idx = torch.topk(scores, k, dim=1)
        return torch.gather(h, 1, idx.expand(-1, -1, h.shape[-1]))

    def extra_repr(self) -> str:
        return f"scoring={self.scoring}, k_train={self.k_train}, k_infer={self.k_infer}"
