"""``recipes/cm/train_waveform.py --weight-decay``: which parameters AdamW decays, and by how much."""

from __future__ import annotations

import pytest
import torch


def _small_cm() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3), torch.nn.BatchNorm1d(2), torch.nn.Flatten(),
                               torch.nn.Linear(4, 2))


def test_the_control_value_keeps_the_single_group_of_earlier_runs(import_recipe) -> None:
    tw = import_recipe("cm", "train_waveform")
    model = _small_cm()
    groups = tw.decay_groups(model, tw.CONTROL_WEIGHT_DECAY)
    assert len(groups) == 1 and "weight_decay" not in groups[0]
    assert [id(p) for p in groups[0]["params"]] == [id(p) for p in model.parameters()]


def test_only_matrices_and_kernels_take_the_new_decay(import_recipe) -> None:
    tw = import_recipe("cm", "train_waveform")
    model = _small_cm()
    decayed, kept = tw.decay_groups(model, 0.1)
    assert decayed["weight_decay"] == 0.1 and kept["weight_decay"] == 1e-4
    assert sorted(tuple(p.shape) for p in decayed["params"]) == [(2, 1, 3), (2, 4)]
    assert len(kept["params"]) == 4  # conv bias, norm gain and shift, linear bias


def test_a_step_without_gradient_shrinks_a_weight_by_lr_times_decay(import_recipe) -> None:
    # AdamW's decoupled decay: w <- w * (1 - lr * wd) before the (here zero) Adam update
    tw = import_recipe("cm", "train_waveform")
    model = _small_cm()
    w0 = model[3].weight.detach().clone()
    b0 = model[3].bias.detach().clone()
    opt = torch.optim.AdamW(tw.decay_groups(model, 0.1), lr=0.01, weight_decay=tw.CONTROL_WEIGHT_DECAY)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    assert torch.allclose(model[3].weight, w0 * (1 - 0.01 * 0.1), rtol=0, atol=1e-7)
    assert torch.allclose(model[3].bias, b0 * (1 - 0.01 * 1e-4), rtol=0, atol=1e-7)
    assert float((model[3].weight - w0).abs().max()) == pytest.approx(float(w0.abs().max()) * 1e-3, rel=1e-3)


@pytest.mark.parametrize("bad", ["-0.1", "nan", "inf"])
def test_a_negative_or_non_finite_decay_is_a_one_line_error_before_any_data_loads(
        import_recipe, monkeypatch, bad: str) -> None:
    tw = import_recipe("cm", "train_waveform")
    monkeypatch.setattr("sys.argv", ["train_waveform.py", "--out", "unused", "--engine", "no-such-build",
                                     "--weight-decay", bad])
    with pytest.raises(SystemExit) as e:
        tw.main()
    assert str(e.value) == f"--weight-decay {float(bad)}: use a finite value >= 0 (e.g. 0.1)"
