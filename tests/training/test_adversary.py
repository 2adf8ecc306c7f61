"""The speaker adversary: gradient reversal, DANN's ramp, the hook on the CM's output layer."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from voxguard.training.adversary import SpeakerAdversary, dann_ramp, grad_reverse


class TinyCM(nn.Module):
    """A CM with the shape the adversary expects: body -> pooled embedding -> ``out``."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(8, 5)
        self.out = nn.Linear(5, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.body(x)))


def test_grad_reverse_is_identity_forward_and_negated_scaled_backward():
    x = torch.randn(4, 3, requires_grad=True)
    w = torch.randn(4, 3)
    y = grad_reverse(x, 0.25)
    assert torch.equal(y, x)
    (y * w).sum().backward()
    # d/dx sum(w * x) = w, reversed and scaled: -0.25 w
    assert torch.allclose(x.grad, -0.25 * w)


def test_dann_ramp_values():
    assert dann_ramp(0.0, 0.1) == 0.0
    # 2 / (1 + e^-10) - 1 = tanh(5) (independent identity), times the scale
    assert dann_ramp(1.0, 0.1) == pytest.approx(0.1 * math.tanh(5.0), rel=1e-12)
    assert dann_ramp(0.5, 1.0) == pytest.approx(math.tanh(2.5), rel=1e-12)
    assert dann_ramp(2.0, 0.1) == dann_ramp(1.0, 0.1)  # clamped to [0, 1]
    ramp = [dann_ramp(p / 10, 0.1) for p in range(11)]
    assert all(a < b for a, b in zip(ramp, ramp[1:], strict=False))


def test_adversary_reverses_the_speaker_gradient_below_the_embedding_only():
    torch.manual_seed(0)
    cm = TinyCM()
    adv = SpeakerAdversary(cm, n_speakers=3, probe=torch.zeros(2, 8))
    assert adv.classifier.in_features == 5 and adv.classifier.out_features == 3
    assert set(cm.state_dict()) == {
        "body.weight",
        "body.bias",
        "out.weight",
        "out.bias",
    }  # not part of the CM

    x = torch.randn(6, 8)
    speakers = torch.tensor([0, 1, 2, 0, 0, 0])
    keep = torch.tensor([True, True, True, False, False, False])
    cm(x)
    adv.loss(speakers, keep, lam=0.5).backward()
    reversed_body = cm.body.weight.grad.clone()
    reversed_cls = adv.classifier.weight.grad.clone()
    assert cm.out.weight.grad is None  # the output layer is beside the adversary's path

    # the same cross-entropy without a reversal, written out by hand
    cm.zero_grad()
    adv.classifier.zero_grad()
    emb = torch.tanh(cm.body(x[keep]))
    F.cross_entropy(adv.classifier(emb), speakers[keep]).backward()
    assert torch.allclose(reversed_body, -0.5 * cm.body.weight.grad, atol=1e-7)
    assert torch.allclose(
        reversed_cls, adv.classifier.weight.grad, atol=1e-7
    )  # the classifier descends


def test_adversary_remove_detaches_the_hook_and_errors_are_clear():
    cm = TinyCM()
    adv = SpeakerAdversary(cm, n_speakers=2, probe=torch.zeros(1, 8))
    with pytest.raises(RuntimeError, match="forward pass"):
        adv.loss(torch.tensor([0]), torch.tensor([True]), 0.1)
    adv.remove()
    cm(torch.zeros(1, 8))
    assert adv._embedding is None  # the CM runs as without an adversary
    with pytest.raises(ValueError, match="output layer"):
        SpeakerAdversary(nn.Linear(8, 2), n_speakers=2, probe=torch.zeros(1, 8))
    with pytest.raises(ValueError, match="at least 2 speakers"):
        SpeakerAdversary(TinyCM(), n_speakers=1, probe=torch.zeros(1, 8))
