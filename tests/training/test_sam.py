"""SAM (``voxguard.training.sam``): values worked from the update rule by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from voxguard.training.sam import SAM, frozen_batchnorm


def test_gradient_at_the_perturbed_point_of_a_quadratic():
    # L(w) = 0.5 ||w||^2, w = (3, 4): g = w, ||g|| = 5, e = rho w / 5 = (0.3, 0.4) for rho = 0.5;
    # the gradient at w + e is w + e = (3.3, 4.4), and w comes back unchanged.
    w = nn.Parameter(torch.tensor([3.0, 4.0]))
    sam = SAM([w], rho=0.5)
    (0.5 * (w**2).sum()).backward()
    assert sam.perturb() == pytest.approx(5.0)
    assert w.detach().tolist() == pytest.approx([3.3, 4.4])
    w.grad = None
    (0.5 * (w**2).sum()).backward()
    sam.restore()
    assert w.detach().tolist() == pytest.approx([3.0, 4.0])
    assert w.grad.tolist() == pytest.approx([3.3, 4.4])


def test_norm_is_global_over_parameters():
    # two parameters, L = a^2 + 2 b: g = (2a, 2) = (2, 2) at a = 1; ||g|| = 2 sqrt 2,
    # e = rho g / ||g|| = (0.1 / sqrt 2) (1, 1) for rho = 0.1.
    a = nn.Parameter(torch.tensor(1.0))
    b = nn.Parameter(torch.tensor(0.0))
    sam = SAM([a, b], rho=0.1)
    (a**2 + 2 * b).backward()
    assert sam.perturb() == pytest.approx(2 * math.sqrt(2))
    assert float(a) == pytest.approx(1 + 0.1 / math.sqrt(2))
    assert float(b) == pytest.approx(0.1 / math.sqrt(2))
    sam.restore()
    assert (float(a), float(b)) == pytest.approx((1.0, 0.0))


def test_parameter_without_gradient_is_left_alone_and_double_perturb_refused():
    used, unused = nn.Parameter(torch.tensor([2.0])), nn.Parameter(torch.tensor([7.0]))
    sam = SAM([used, unused], rho=1.0)
    (used**2).sum().backward()
    sam.perturb()
    assert float(unused) == 7.0 and float(used) == pytest.approx(3.0)
    with pytest.raises(RuntimeError, match="twice"):
        sam.perturb()
    with pytest.raises(ValueError, match="rho"):
        SAM([used], rho=0.0)
    with pytest.raises(RuntimeError, match="backward"):
        SAM([nn.Parameter(torch.tensor([1.0]))]).perturb()


def test_frozen_batchnorm_keeps_running_statistics_and_restores_momentum():
    bn = nn.BatchNorm1d(2, momentum=0.1)
    bn.train()
    x = torch.tensor([[1.0, 10.0], [3.0, 30.0]])
    bn(x)  # mean (2, 20): running_mean = 0.9 * 0 + 0.1 * (2, 20) = (0.2, 2.0)
    before = bn.running_mean.clone(), bn.running_var.clone(), int(bn.num_batches_tracked)
    with frozen_batchnorm(bn):
        out = bn(x + 5.0)
    assert torch.equal(bn.running_mean, before[0]) and torch.equal(bn.running_var, before[1])
    assert int(bn.num_batches_tracked) == before[2] and bn.momentum == 0.1
    # it still normalised with the batch's own statistics: each column to (-1, 1) (biased var)
    assert out.detach().flatten().tolist() == pytest.approx([-1.0, -1.0, 1.0, 1.0], abs=1e-3)
    assert bn.running_mean.tolist() == pytest.approx([0.2, 2.0])


class _Affine(nn.Module):
    def __init__(self, weight: list[float], bias: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.tensor(weight))
        self.bias = nn.Parameter(torch.tensor(bias))


def test_adaptive_ball_scales_weights_by_their_magnitude_and_leaves_biases_at_one():
    # L = 0.5 ||w||^2 + 2 b at w = (3, 4), b = 1, eta = 0: g = (3, 4 | 2), T = (3, 4 | 1),
    # T g = (9, 16 | 2), ||T g|| = sqrt 341; e = rho T^2 g / ||T g|| = rho (27, 64 | 2) / sqrt 341,
    # so rho = sqrt(341) / 100 gives e = (0.27, 0.64 | 0.02).
    m = _Affine([3.0, 4.0], 1.0)
    sam = SAM.adaptive(m, rho=math.sqrt(341) / 100, eta=0.0)
    (0.5 * (m.weight**2).sum() + 2 * m.bias).backward()
    assert sam.perturb() == pytest.approx(math.sqrt(341))
    assert m.weight.detach().tolist() == pytest.approx([3.27, 4.64])
    assert float(m.bias) == pytest.approx(1.02)
    sam.restore()
    assert m.weight.detach().tolist() == pytest.approx([3.0, 4.0])
    assert float(m.bias) == pytest.approx(1.0)


def test_adaptive_eta_keeps_a_zero_weight_in_the_ball():
    # L = w1 + w2 at w = (0, 1), eta = 0.5: g = (1, 1), T = (0.5, 1.5), ||T g|| = sqrt 2.5;
    # rho = sqrt 2.5 gives e = T^2 g = (0.25, 2.25): the zero weight still moves.
    m = _Affine([0.0, 1.0], 0.0)
    sam = SAM.adaptive(m, rho=math.sqrt(2.5), eta=0.5)
    m.weight.sum().backward()
    sam.perturb()
    assert m.weight.detach().tolist() == pytest.approx([0.25, 3.25])
    assert float(m.bias) == 0.0  # no gradient, not perturbed
    with pytest.raises(ValueError, match="eta"):
        SAM.adaptive(m, eta=-1.0)
