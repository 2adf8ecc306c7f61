"""A speaker adversary for CM training: gradient reversal on the CM's pooled embedding.

Domain-adversarial training (Ganin & Lempitsky, "Unsupervised Domain Adaptation by
Backpropagation", ICML 2015) with the speaker as the domain, as proposed for spoofing
countermeasures by the speaker-invariant multi-task CMs (SInMT: a speaker classifier behind a
gradient reversal layer, 17 % lower average EER over four corpora) and the Odyssey 2026
speaker-invariant CM. The CM's bona fide errors here are bound to a few speakers, which is the
bias this removes: the CM should say "real" because of how speech was made, not whose it is.

One step (the caller):

1. ``logits = model(x)``: a forward pre-hook on ``model.out`` (the CM's output layer) keeps its
   input, the pooled embedding;
2. ``loss = cm_loss + adversary.loss(speakers, keep, lam)``: a linear speaker classifier on that
   embedding, for the items in ``keep``, through :func:`grad_reverse`. The classifier descends its
   cross-entropy; the CM below the reversal ascends it, scaled by ``lam`` — it learns to make the
   embedding useless for telling speakers apart.

The classifier is training-time only: it is not part of the CM's state dict and is discarded
after training (the shipped CM keeps its architecture and parameter count). :func:`dann_ramp`
is the DANN schedule for ``lam`` (0 at the start, so the adversary has a useful classifier before
its gradient reaches the CM).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, lam: float) -> torch.Tensor:
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.lam * grad, None


def grad_reverse(x: torch.Tensor, lam: float) -> torch.Tensor:
    """Identity forward; the gradient backward times ``-lam``."""
    return _GradReverse.apply(x, float(lam))


def dann_ramp(progress: float, scale: float, gamma: float = 10.0) -> float:
    """DANN's coefficient ``scale * (2 / (1 + exp(-gamma p)) - 1)`` for training progress ``p`` in [0, 1]."""
    p = min(max(progress, 0.0), 1.0)
    return scale * (2.0 / (1.0 + math.exp(-gamma * p)) - 1.0)


class SpeakerAdversary(nn.Module):
    """Linear speaker classifier on the input of ``model.out``, behind a gradient reversal."""

    def __init__(self, model: nn.Module, n_speakers: int, probe: torch.Tensor) -> None:
        """``probe``: a small input batch run once through ``model`` to learn the embedding size."""
        super().__init__()
        if not isinstance(getattr(model, "out", None), nn.Module):
            raise ValueError(
                f"{type(model).__name__} has no output layer `out` to put a speaker adversary on"
            )
        if n_speakers < 2:
            raise ValueError(f"a speaker adversary needs at least 2 speakers, got {n_speakers}")
        self._embedding: torch.Tensor | None = None
        self._hook = model.out.register_forward_pre_hook(self._keep)
        was_training = model.training
        model.eval()
        with torch.no_grad():
            model(probe)
        model.train(was_training)
        dim = self._embedding.shape[-1]
        self._embedding = None
        self.classifier = nn.Linear(dim, n_speakers)

    def _keep(self, _module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        self._embedding = inputs[0]

    def loss(self, speakers: torch.Tensor, keep: torch.Tensor, lam: float) -> torch.Tensor:
        """Speaker cross-entropy of the last forward's items ``keep`` (bool mask), reversed by ``lam``
        below the classifier."""
        if self._embedding is None:
            raise RuntimeError("SpeakerAdversary.loss needs a forward pass of the model first")
        emb = grad_reverse(self._embedding[keep], lam)
        return F.cross_entropy(self.classifier(emb), speakers[keep])

    def remove(self) -> None:
        """Detach the hook from the CM (the CM is then exactly as without an adversary)."""
        self._hook.remove()
