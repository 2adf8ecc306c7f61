"""MixStyle: mix instance-level feature statistics inside a network, a training-time regulariser.

Zhou, Yang, Qiao & Xiang, "Domain Generalization with MixStyle", ICLR 2021 (reference code:
``KaiyangZhou/mixstyle-release``). After an early layer, with probability ``p`` per batch, each
item's feature map ``x`` (``(B, C, H, W)``) is normalised by its own per-channel mean and
standard deviation over the spatial axes and given a mix of its own and another item's:

    mu, sig = mean, std of x over (H, W);  x' = (x - mu) / sig * (lam sig + (1 - lam) sig[j])
                                                 + lam mu + (1 - lam) mu[j],   lam ~ Beta(a, a)

with the statistics detached from the graph, as in the reference code. Early CNN layers' channel
statistics carry the "style" of an input (for audio: the recording's colour and level); mixing them
asks the later layers not to rely on it. It has no parameters and does nothing in ``eval()``: a
model trained with it is exported and scored exactly as one trained without.

Decisions written down here:
- The partner ``j`` is drawn from the item's own class (a random permutation within each label,
  :meth:`MixStyle.redraw`); the reference code's default ``random`` mode shuffles the whole batch,
  which is what one label for every item gives (the speaker distillation's choice, below).
  For a spoofing countermeasure a spoof's statistics may carry part of the spoof cue, and a mix
  across the class boundary would hand that cue to a bona fide item labelled bona fide; within a
  class, only what varies among items of that class (speaker, recording) is mixed.
- One draw per training step, kept until the next :meth:`redraw`, so that a step's second forward
  pass (SAM's) sees the same mixed statistics as its first. The caller passes the random
  generator, so the data draw's stream is not consumed.
- It is attached by forward hooks on the modules named by the caller (for the LCNNs: the first two
  max-pools of the body, :func:`lcnn_mixstyle_modules`; for BC-CMT: the outputs of its two
  convolutional stages, :func:`bccmt_mixstyle_modules`), so no model carries training-only code.
- In the speaker distillation (``spk_distill``'s ``mixstyle``) partners come from the whole batch,
  as in the reference code's cross-domain person re-identification runs, where they are other
  identities: the crops of a batch are drawn at random, so a partner of the same speaker would
  almost never exist, and every item keeps its own targets (the teacher's embedding, its label).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

ALPHA = 0.1  # the reference code's Beta parameter
EPS = 1e-6


class MixStyle:
    """Forward hooks that mix the per-channel statistics of ``modules``' outputs (see the module doc)."""

    def __init__(self, modules: Sequence[nn.Module], p: float, alpha: float = ALPHA) -> None:
        if not 0.0 < p <= 1.0:
            raise ValueError(f"MixStyle probability must be in (0, 1], got {p}")
        self.p, self.alpha = p, alpha
        # this step's (lam (B, 1, 1, 1), partner index (B,)), or None: no mix this step
        self.draw: tuple[torch.Tensor, torch.Tensor] | None = None
        self.handles = [m.register_forward_hook(self._hook) for m in modules]

    def redraw(self, labels: np.ndarray, rng: np.random.Generator) -> None:
        """Draw this step's mix for a batch with class ``labels`` (or none, with probability 1 - p)."""
        if rng.random() >= self.p:
            self.draw = None
            return
        labels = np.asarray(labels)
        partner = np.arange(len(labels))
        for c in np.unique(labels):
            members = np.flatnonzero(labels == c)
            partner[members] = rng.permutation(members)
        lam = rng.beta(self.alpha, self.alpha, size=len(labels)).astype(np.float32)
        self.draw = (torch.from_numpy(lam).view(-1, 1, 1, 1), torch.from_numpy(partner))

    def _hook(self, module: nn.Module, inputs, output: torch.Tensor) -> torch.Tensor | None:
        if self.draw is None or not module.training:
            return None
        lam, partner = self.draw
        if output.shape[0] != len(partner):
            raise ValueError(
                f"MixStyle was drawn for a batch of {len(partner)}, got {output.shape[0]}"
            )
        mu = output.mean(dim=(2, 3), keepdim=True).detach()
        sig = (output.var(dim=(2, 3), keepdim=True) + EPS).sqrt().detach()
        lam = lam.to(output.dtype)
        mixed_mu = lam * mu + (1 - lam) * mu[partner]
        mixed_sig = lam * sig + (1 - lam) * sig[partner]
        return (output - mu) / sig * mixed_sig + mixed_mu

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []


def lcnn_mixstyle_modules(model: nn.Module) -> list[nn.Module]:
    """The first two max-pools of an LCNN's body: MixStyle's place (the reference code mixes after
    the first two or three of a ResNet's four stages; the LCNN body has four pooled stages)."""
    body = getattr(model, "body", None)
    pools = [m for m in body if isinstance(m, nn.MaxPool2d)] if body is not None else []
    if len(pools) < 2:
        raise ValueError(
            f"MixStyle needs a model with an LCNN body (two max-pools); {type(model).__name__} has none"
        )
    return pools[:2]


def bccmt_mixstyle_modules(model: nn.Module) -> list[nn.Module]:
    """The last blocks of BC-CMT's two convolutional stages (``network.stage1`` / ``stage2``), the
    layers before its transformer stages: MixStyle's place for the speaker student. The forward
    loop calls the stages' blocks one by one, so the hooks go on the last block of each."""
    net = getattr(model, "network", None)
    stages = [getattr(net, name, None) for name in ("stage1", "stage2")]
    if any(not isinstance(s, nn.Sequential) or len(s) == 0 for s in stages):
        raise ValueError(
            f"MixStyle needs a BC-CMT model (network.stage1 / stage2); {type(model).__name__} has none"
        )
    return [s[-1] for s in stages]
