"""Sharpness-aware minimisation (SAM) around any optimizer.

Foret, Kleiner, Mobahi & Neyshabur, "Sharpness-Aware Minimization for Efficiently Improving
Generalization", ICLR 2021 (reference code: ``google-research/sam``; the PyTorch port most people
use: ``davda54/sam``). Tried for spoofing countermeasures by Shim et al., "Multi-Dataset
Co-Training with Sharpness-Aware Optimization for Audio Anti-spoofing", Interspeech 2023, as a way
to generalise to unseen attacks. One step:

1. ``loss(w).backward()`` (the caller), then :meth:`SAM.perturb`: ``e = rho g / ||g||`` with ``g``
   the gradient of all parameters together (the global L2 norm), and ``w <- w + e``;
2. ``loss(w + e).backward()`` with fresh gradients (the caller, inside :func:`frozen_batchnorm`
   so the second pass does not count the batch twice in the running statistics), then
   :meth:`SAM.restore`: ``w <- w - e``, leaving the sharpness-aware gradient in ``.grad``;
3. the caller's optimizer step (clipping included) on that gradient.

Twice the forward / backward work of a plain step; a parameter without a gradient is not perturbed.

Adaptive SAM (``scaled``; Kwon, Kim, Park & Choi, "ASAM: Adaptive Sharpness-Aware Minimization for
Scale-Invariant Learning of Deep Neural Networks", ICML 2021; reference code ``SamsungLabs/ASAM``)
makes the ball elliptic, per weight: with ``T = |w| + eta``, ``e = rho T^2 g / ||T g||``, so that a
layer rescaled by a batch norm that follows it has the same sharpness. As in the reference code,
only the parameters the caller marks as scaled (there: those named ``*weight*``) get ``T``; the
others (biases) keep ``T = 1``. Its radius is not SAM's: the reference defaults are ``rho`` 0.5,
``eta`` 0.01.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import torch
from torch import nn

DEFAULT_RHO = 0.05  # the paper's default neighbourhood radius (CIFAR; also davda54/sam's)
ASAM_RHO, ASAM_ETA = 0.5, 0.01  # the ASAM reference code's defaults


class SAM:
    """Perturb parameters to the worst point of a ``rho`` ball and back (see the module doc)."""

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        rho: float = DEFAULT_RHO,
        scaled: Iterable[torch.nn.Parameter] | None = None,
        eta: float = ASAM_ETA,
    ) -> None:
        if not rho > 0:
            raise ValueError(f"SAM rho must be > 0, got {rho}")
        if not eta >= 0:
            raise ValueError(f"ASAM eta must be >= 0, got {eta}")
        self.params = [p for p in params if p.requires_grad]
        self.rho = rho
        self.eta = eta
        self._scaled = None if scaled is None else {id(p) for p in scaled}  # None: plain SAM
        self._steps: list[tuple[torch.nn.Parameter, torch.Tensor]] = []

    @classmethod
    def adaptive(cls, model: nn.Module, rho: float = ASAM_RHO, eta: float = ASAM_ETA) -> SAM:
        """ASAM over ``model``'s parameters, ``T = |w| + eta`` on those named ``*weight*`` (reference code)."""
        named = list(model.named_parameters())
        return cls(
            [p for _, p in named], rho, scaled=[p for n, p in named if "weight" in n], eta=eta
        )

    def _t(self, p: torch.Tensor) -> torch.Tensor | float:
        if self._scaled is None or id(p) not in self._scaled:
            return 1.0
        return p.abs() + self.eta

    @torch.no_grad()
    def perturb(self) -> float:
        """``w <- w + rho g / ||g||`` (ASAM: ``rho T^2 g / ||T g||``) from the gradients in ``.grad``;
        returns the norm divided by: ``||g||`` (ASAM: ``||T g||``)."""
        if self._steps:
            raise RuntimeError("SAM.perturb called twice without restore")
        grads = [(p, self._t(p), p.grad) for p in self.params if p.grad is not None]
        if not grads:
            raise RuntimeError("SAM.perturb needs gradients: call loss.backward() first")
        norm = torch.nn.utils.get_total_norm([t * g for _, t, g in grads])  # global L2, as clipping
        scale = self.rho / (norm + 1e-12)
        for p, t, g in grads:
            e = t * t * g * scale
            p.add_(e)
            self._steps.append((p, e))
        return float(norm)

    @torch.no_grad()
    def restore(self) -> None:
        """Undo :meth:`perturb` (the gradients computed at ``w + e`` stay in ``.grad``)."""
        for p, e in self._steps:
            p.sub_(e)
        self._steps = []


@contextlib.contextmanager
def frozen_batchnorm(model: nn.Module) -> Iterator[None]:
    """Batch norm layers keep normalising with the batch but leave their running statistics as
    they are (momentum 0) inside the block: SAM's second pass sees the same batch again."""
    saved = []
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
            saved.append((m, m.momentum, m.num_batches_tracked.clone()))
            m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum, tracked in saved:
            m.momentum = momentum
            m.num_batches_tracked.copy_(tracked)
