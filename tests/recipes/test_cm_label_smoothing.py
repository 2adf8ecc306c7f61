"""``recipes/cm/train_waveform.py --label-smoothing``: the cross-entropy against smoothed targets."""

from __future__ import annotations

import math

import pytest
import torch


class _FixedLogits(torch.nn.Module):
    """A stand-in CM whose logits are (0, ln 3) for every input: p(bona fide) = 3/4."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tensor([[0.0, math.log(3.0)]]).expand(len(x), 2)


def test_smoothed_cross_entropy_matches_the_hand_computed_value(import_recipe) -> None:
    tw = import_recipe("cm", "train_waveform")
    x, bona, spoof = torch.zeros(1, 8), torch.tensor([1]), torch.tensor([0])

    def loss(y: torch.Tensor, eps: float) -> float:
        return float(tw.batch_loss(_FixedLogits(), x, y, False, None, eps))

    # hard labels: -ln 3/4 and -ln 1/4
    assert loss(bona, 0.0) == pytest.approx(0.2876821, abs=1e-6)
    assert loss(spoof, 0.0) == pytest.approx(1.3862944, abs=1e-6)
    # eps 0.1: targets 0.95 / 0.05, so -(0.95 ln 3/4 + 0.05 ln 1/4) and -(0.95 ln 1/4 + 0.05 ln 3/4)
    assert loss(bona, 0.1) == pytest.approx(0.3426127, abs=1e-6)
    assert loss(spoof, 0.1) == pytest.approx(1.3313637, abs=1e-6)


def test_mixup_mixes_the_smoothed_losses_of_both_labels(import_recipe) -> None:
    tw = import_recipe("cm", "train_waveform")
    x, y, perm = torch.zeros(2, 8), torch.tensor([1, 0]), torch.tensor([1, 0])
    got = float(tw.batch_loss(_FixedLogits(), x, y, False, (0.25, perm), 0.1))
    # each term is the batch mean of one bona fide and one spoof item: (0.3426127 + 1.3313637) / 2
    assert got == pytest.approx(0.8369882, abs=1e-6)
