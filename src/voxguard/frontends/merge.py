"""Merging the hidden layers of an SSL front-end: ``(B, L, T, D) + lengths -> (B, T, D)``.

Three merges share one interface, :class:`LayerMerge`, built by :func:`create_merge`:

- ``last``: the last kept layer.
- ``weighted_sum``: s3prl's featurizer, a softmax-normalised learned weight per layer.
- ``attm``: attentive merging (Pan et al., Interspeech 2024): layer weights from time-averaged
  features, then the weighted layers are concatenated per frame and projected back to ``D``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

MERGE_KINDS = ("last", "weighted_sum", "attm")


def time_mask(
    lengths: torch.Tensor | None, frames: int, device: torch.device
) -> torch.Tensor | None:
    """Boolean ``(B, frames)`` mask of valid frames, or None when ``lengths`` is None."""
    if lengths is None:
        return None
    return torch.arange(frames, device=device)[None] < lengths.to(device)[:, None]


def masked_time_mean(x: torch.Tensor, lengths: torch.Tensor | None, dim: int) -> torch.Tensor:
    """Mean of ``x`` over its time axis ``dim`` counting only frames inside ``lengths``."""
    if lengths is None:
        return x.mean(dim=dim)
    mask = time_mask(lengths, x.shape[dim], x.device).to(x.dtype)  # (B, T)
    shape = [1] * x.dim()
    shape[0], shape[dim] = mask.shape
    mask = mask.view(shape)
    count = mask.sum(dim=dim).clamp(min=1.0)
    return (x * mask).sum(dim=dim) / count


class LayerMerge(nn.Module):
    """Base class: ``forward(hidden (B, L, T, D), lengths (B,) | None) -> (B, T, D)``."""

    kind: str = ""

    def __init__(self, num_layers: int, dim: int) -> None:
        super().__init__()
        self.num_layers = num_layers
        self.dim = dim

    def _check(self, hidden: torch.Tensor) -> None:
        if hidden.dim() != 4 or hidden.shape[1] != self.num_layers or hidden.shape[3] != self.dim:
            raise ValueError(
                f"{type(self).__name__} expects hidden states (B, {self.num_layers}, T, {self.dim}), "
                f"got {tuple(hidden.shape)}; match num_layers/dim to the front-end"
            )


class LastLayer(LayerMerge):
    """Keep the last layer only (parameter-free)."""

    kind = "last"

    def forward(self, hidden: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        self._check(hidden)
        return hidden[:, -1]


class WeightedSum(LayerMerge):
    """s3prl featurizer: ``sum_l softmax(w)_l * h_l`` (optionally layer-normalising each ``h_l``)."""

    kind = "weighted_sum"

    def __init__(self, num_layers: int, dim: int, normalize: bool = False) -> None:
        super().__init__(num_layers, dim)
        self.normalize = normalize
        self.weights = nn.Parameter(torch.zeros(num_layers))

    def forward(self, hidden: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        self._check(hidden)
        if self.normalize:
            hidden = F.layer_norm(hidden, (self.dim,))
        w = F.softmax(self.weights, dim=0).to(hidden.dtype)
        return torch.einsum("bltd,l->btd", hidden, w)


class AttentiveMerge(LayerMerge):
    """AttM (SPEC §1.2), without the public code's unused Linear.

    ``X2 = mean_t(H)`` (B, L, D); ``X3 = SiLU(X2 W)`` (B, L, 1); layer weights
    ``a = sigmoid(SiLU(X3^T W1) W2)`` (B, 1, L); the weighted layers are concatenated per frame
    (B, T, L*D) and projected ``Linear(L*D, L*D/4) -> SiLU -> Linear(L*D/4, D)``.
    ``W``, ``W1``, ``W2`` have no bias: 40,899,728 parameters at L=12, D=1024.

    Initialisation of ``W``, ``W1``, ``W2``: the public code draws them from a standard normal
    (``init="normal"``); voxguard's default, ``init="linear"``, keeps PyTorch's ``nn.Linear``
    initialisation (uniform, scaled by fan-in), which starts the layer weights near 0.5
    instead of saturating the sigmoid. The projection is ``nn.Linear`` in both.
    """

    kind = "attm"

    def __init__(self, num_layers: int, dim: int, init: str = "linear") -> None:
        super().__init__(num_layers, dim)
        if init not in ("linear", "normal"):
            raise ValueError(
                f"init={init!r}: use 'linear' (PyTorch default) or 'normal' (reference)"
            )
        half = max(num_layers // 2, 1)
        wide = num_layers * dim
        self.w = nn.Linear(dim, 1, bias=False)
        self.w1 = nn.Linear(num_layers, half, bias=False)
        self.w2 = nn.Linear(half, num_layers, bias=False)
        if init == "normal":
            for lin in (self.w, self.w1, self.w2):
                nn.init.normal_(lin.weight)
        self.proj = nn.Sequential(nn.Linear(wide, wide // 4), nn.SiLU(), nn.Linear(wide // 4, dim))

    def layer_weights(
        self, hidden: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Per-utterance layer weights ``(B, L)`` in (0, 1)."""
        x2 = masked_time_mean(hidden, lengths, dim=2)  # (B, L, D)
        x3 = F.silu(self.w(x2)).transpose(1, 2)  # (B, 1, L)
        return torch.sigmoid(self.w2(F.silu(self.w1(x3)))).squeeze(1)

    def forward(self, hidden: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        self._check(hidden)
        batch, layers, frames, dim = hidden.shape
        weighted = hidden * self.layer_weights(hidden, lengths)[:, :, None, None]
        stacked = weighted.permute(0, 2, 1, 3).reshape(batch, frames, layers * dim)
        return self.proj(stacked)


def create_merge(kind: str, num_layers: int, dim: int, **options: object) -> LayerMerge:
    """Build the layer merge ``kind`` (one of :data:`MERGE_KINDS`); ``options`` go to its class
    (e.g. ``init="normal"`` for ``attm``)."""
    classes = {"last": LastLayer, "weighted_sum": WeightedSum, "attm": AttentiveMerge}
    if kind not in classes:
        raise ValueError(f"unknown layer merge {kind!r}; use one of {MERGE_KINDS}")
    return classes[kind](num_layers, dim, **options)
