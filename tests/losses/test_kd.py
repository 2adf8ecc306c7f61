"""Attention-map distillation loss."""

from __future__ import annotations

import math

import pytest
import torch

from voxguard.losses.kd import attention_kd_loss, default_layer_map


def test_layer_map_spreads_evenly_last_to_last():
    assert default_layer_map(5, 7) == [0, 2, 3, 5, 6]
    assert default_layer_map(3, 3) == [0, 1, 2]
    assert default_layer_map(2, 4) == [1, 3]


def test_identical_maps_give_zero():
    maps = [torch.softmax(torch.randn(2, 4, 6, 6), -1) for _ in range(3)]
    assert attention_kd_loss(maps, maps).item() == pytest.approx(0.0, abs=1e-6)
    assert attention_kd_loss(maps, maps, kind="mse").item() == pytest.approx(0.0, abs=1e-9)


def test_kl_known_value_and_head_averaging():
    # teacher rows [0.5, 0.5]; student heads [0.9, 0.1] and [0.7, 0.3] average to [0.8, 0.2]
    t = torch.tensor([0.5, 0.5]).expand(1, 1, 2, 2)
    s = torch.stack([torch.tensor([0.9, 0.1]).expand(2, 2), torch.tensor([0.7, 0.3]).expand(2, 2)])[
        None
    ]
    expected = 0.5 * math.log(0.5 / 0.8) + 0.5 * math.log(0.5 / 0.2)
    assert attention_kd_loss([s], [t]).item() == pytest.approx(expected, rel=1e-5)
    assert attention_kd_loss([s], [t], kind="mse").item() == pytest.approx(0.3**2 * 2, rel=1e-5)


def test_padded_rows_are_ignored():
    t = torch.softmax(torch.randn(1, 1, 4, 4), -1)
    s = t.clone()
    s[0, 0, 3] = torch.tensor([0.97, 0.01, 0.01, 0.01])  # differs only in a padded query row
    assert attention_kd_loss([s], [t], lengths=torch.tensor([3])).item() == pytest.approx(
        0.0, abs=1e-6
    )


def test_gradient_reaches_student_only():
    t = torch.softmax(torch.randn(1, 2, 5, 5), -1).requires_grad_()
    logits = torch.randn(1, 2, 5, 5, requires_grad=True)
    attention_kd_loss([torch.softmax(logits, -1)], [t]).backward()
    assert logits.grad is not None and t.grad is None


def test_mismatched_time_size_is_a_clear_error():
    with pytest.raises(ValueError, match="time size"):
        attention_kd_loss([torch.ones(1, 1, 3, 3) / 3], [torch.ones(1, 1, 4, 4) / 4])
