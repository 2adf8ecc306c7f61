"""AAM-softmax: the target logit is s cos(theta + m), the others s cos(theta)."""

from __future__ import annotations

import math

import pytest
import torch

from voxguard.losses.aam import AAMSoftmax, margin_schedule


def _head(margin: float, scale: float = 30.0) -> AAMSoftmax:
    head = AAMSoftmax(2, 2, margin=margin, scale=scale)
    with torch.no_grad():
        head.weight.copy_(torch.eye(2))  # class 0 along x, class 1 along y
    return head


@pytest.mark.parametrize("theta", [0.3, 1.0, 2.0])
def test_target_logit_is_cos_theta_plus_m(theta):
    m, s = 0.2, 30.0
    emb = torch.tensor([[math.cos(theta), math.sin(theta)]]) * 7.0  # norm must not matter
    logits = _head(m, s).logits(emb, torch.tensor([0]))
    assert logits[0, 0].item() == pytest.approx(s * math.cos(theta + m), abs=1e-4)
    assert logits[0, 1].item() == pytest.approx(s * math.sin(theta), abs=1e-4)  # cos(pi/2 - theta)


def test_past_pi_minus_m_uses_linear_fallback():
    m, s, theta = 0.5, 10.0, 3.0  # theta > pi - m
    emb = torch.tensor([[math.cos(theta), math.sin(theta)]])
    logit = _head(m, s).logits(emb, torch.tensor([0]))[0, 0].item()
    assert logit == pytest.approx(s * (math.cos(theta) - m * math.sin(m)), abs=1e-4)


def test_margin_lowers_target_logit_and_raises_loss():
    emb = torch.tensor([[0.9, 0.3]])
    label = torch.tensor([0])
    assert _head(0.3).logits(emb, label)[0, 0] < _head(0.0).logits(emb, label)[0, 0]
    assert _head(0.3)(emb, label)[0] > _head(0.0)(emb, label)[0]


def test_zero_margin_is_scaled_cosine_softmax():
    emb = torch.tensor([[0.6, 0.8], [-1.0, 0.2]])
    head = _head(0.0, 5.0)
    labels = torch.tensor([1, 0])
    expected = torch.nn.functional.cross_entropy(5.0 * torch.nn.functional.normalize(emb), labels)
    torch.testing.assert_close(head(emb, labels)[0], expected)


def test_margin_schedule():
    assert margin_schedule(0, 100, 0.2) == 0.0
    assert margin_schedule(50, 100, 0.2) == pytest.approx(0.1)
    assert margin_schedule(500, 100, 0.2) == pytest.approx(0.2)
    assert margin_schedule(5, 0, 0.2) == 0.2
    assert margin_schedule(3, 10, 0.2, start=5) == 0.0
