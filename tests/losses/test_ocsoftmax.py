"""One-class softmax loss: known values from its formula, worked by hand."""

from __future__ import annotations

import math

import pytest
import torch

from voxguard.losses.ocsoftmax import oc_softmax_loss


def test_oc_softmax_is_log2_at_the_margins():
    # bona fide at cos = m_bona = 0.9 and spoof at cos = m_spoof = 0.2: softplus(0) = ln 2 each
    loss = oc_softmax_loss(torch.tensor([0.9, 0.2]), torch.tensor([1, 0]))
    assert float(loss) == pytest.approx(math.log(2), rel=1e-6)


def test_oc_softmax_known_values():
    # bona fide at cos 1.0: ln(1 + e^(20 * (0.9 - 1.0))) = ln(1 + e^-2) = 0.126928
    # spoof at cos 0.5: ln(1 + e^(20 * (0.5 - 0.2))) = ln(1 + e^6) = 6.002476
    # bona fide at cos -1: ln(1 + e^38) = 38.0 (to 1e-15)
    values = oc_softmax_loss(torch.tensor([1.0]), torch.tensor([1]))
    assert float(values) == pytest.approx(0.1269280110429725, rel=1e-6)
    assert float(oc_softmax_loss(torch.tensor([0.5]), torch.tensor([0]))) == pytest.approx(
        6.00247568513773, rel=1e-6
    )
    assert float(oc_softmax_loss(torch.tensor([-1.0]), torch.tensor([1]))) == pytest.approx(
        38.0, rel=1e-6
    )
    mean = oc_softmax_loss(torch.tensor([1.0, 0.5]), torch.tensor([1, 0]))
    assert float(mean) == pytest.approx((0.1269280110429725 + 6.00247568513773) / 2, rel=1e-6)


def test_oc_softmax_pulls_bona_fide_up_and_pushes_spoofs_down():
    cos = torch.tensor([0.5, 0.5], requires_grad=True)
    oc_softmax_loss(cos, torch.tensor([1, 0])).backward()
    assert cos.grad[0] < 0 < cos.grad[1]  # descent raises the bona fide cosine, lowers the spoof's


def test_oc_softmax_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="differ"):
        oc_softmax_loss(torch.zeros(3), torch.zeros(2, dtype=torch.long))
