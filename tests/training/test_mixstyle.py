"""``voxguard.training.mixstyle``: per-channel statistics mixed within a class (or the whole batch),
training only."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from voxguard.models import create_model
from voxguard.training.mixstyle import MixStyle, bccmt_mixstyle_modules, lcnn_mixstyle_modules


def _stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # mean and (population) std per item and channel over the two spatial axes, by numpy
    flat = x.reshape(x.shape[0], x.shape[1], -1).astype(np.float64)
    return flat.mean(-1), flat.std(-1)


def _mixed(x: np.ndarray, lam: list[float], partner: list[int]) -> np.ndarray:
    # x through a hooked identity layer, with this draw fixed by hand
    layer = nn.Identity()
    ms = MixStyle([layer], p=1.0)
    ms.draw = (torch.tensor(lam, dtype=torch.float32).view(-1, 1, 1, 1), torch.tensor(partner))
    return layer(torch.from_numpy(x)).numpy()


def test_lam_zero_gives_each_item_its_partners_statistics_and_keeps_its_pattern() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    x[1] = 3.0 * x[1] + 7.0  # a different "style": mean about 7, std about 3
    y = _mixed(x, [0.0, 0.0], [1, 0])
    mu_x, sd_x = _stats(x)
    mu_y, sd_y = _stats(y)
    # the population std is what the hook restores up to its (unbiased-variance + eps) scale:
    # std_y = std_x[partner] (same n on both sides, so the unbiased factor cancels)
    assert mu_y[0] == pytest.approx(mu_x[1], abs=1e-4)
    assert mu_y[1] == pytest.approx(mu_x[0], abs=1e-4)
    assert sd_y[0] == pytest.approx(sd_x[1], rel=1e-3)
    assert sd_y[1] == pytest.approx(sd_x[0], rel=1e-3)
    # the normalised pattern of item 0 is unchanged: a correlation of 1 with its input, per channel
    for c in range(3):
        assert np.corrcoef(x[0, c].ravel(), y[0, c].ravel())[0, 1] == pytest.approx(1.0, abs=1e-5)


def test_lam_half_gives_the_mean_of_the_two_statistics() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 2, 6, 6)).astype(np.float32)
    x[1] = 0.5 * x[1] - 2.0
    y = _mixed(x, [0.5, 1.0], [1, 1])
    mu_x, sd_x = _stats(x)
    mu_y, sd_y = _stats(y)
    assert mu_y[0] == pytest.approx((mu_x[0] + mu_x[1]) / 2, abs=1e-4)
    assert sd_y[0] == pytest.approx((sd_x[0] + sd_x[1]) / 2, rel=1e-3)
    np.testing.assert_allclose(y[1], x[1], atol=1e-4)  # lam 1 (and its own partner): unchanged


def test_partners_never_cross_the_class_boundary_and_p_sets_how_often_it_mixes() -> None:
    ms = MixStyle([nn.Identity()], p=1.0)
    labels = np.r_[np.ones(8), np.zeros(8)].astype(int)
    for seed in range(20):
        ms.redraw(labels, np.random.default_rng(seed))
        partner = ms.draw[1].numpy()
        assert (labels[partner] == labels).all()
        assert sorted(partner[:8]) == list(range(8)) and sorted(partner[8:]) == list(range(8, 16))
    half = MixStyle([nn.Identity()], p=0.5)
    drawn = 0
    for seed in range(200):
        half.redraw(labels, np.random.default_rng(seed))
        drawn += half.draw is not None
    assert 70 < drawn < 130  # about half the steps mix (binomial, n 200: 100 +- 7)
    with pytest.raises(ValueError, match="probability"):
        MixStyle([nn.Identity()], p=0.0)


def _eval_unchanged_training_mixed(model, modules, forward, labels) -> None:
    # hooks on ``modules``: ``forward`` in eval() is bit-identical to before they were attached;
    # in training (same dropout draw) it differs with them and not after their removal
    model.eval()
    before = forward()
    ms = MixStyle(modules, p=1.0)
    ms.redraw(labels, np.random.default_rng(3))
    assert torch.equal(forward(), before)  # inference never mixes
    model.train()
    torch.manual_seed(1)
    mixed = forward()
    ms.remove()
    torch.manual_seed(1)
    plain = forward()
    assert not torch.allclose(mixed, plain)


def test_an_lcnn_scores_exactly_as_without_it_in_eval_and_mixes_in_training() -> None:
    torch.manual_seed(0)
    model = create_model("lcnn_wide")
    wav = torch.randn(4, 8000) * 0.1
    modules = lcnn_mixstyle_modules(model)
    _eval_unchanged_training_mixed(model, modules, lambda: model(wav), np.array([1, 1, 0, 0]))
    assert len(modules) == 2
    with pytest.raises(ValueError, match="LCNN body"):
        lcnn_mixstyle_modules(nn.Linear(2, 2))


def test_one_label_for_all_draws_partners_from_the_whole_batch() -> None:
    ms = MixStyle([nn.Identity()], p=1.0)
    crossed = 0
    for seed in range(20):
        ms.redraw(np.zeros(8, int), np.random.default_rng(seed))
        partner = ms.draw[1].numpy()
        assert sorted(partner) == list(range(8))  # a permutation of every item
        crossed += (partner[:4] >= 4).any()
    assert crossed > 10  # the first half's partners come from the second half too


def test_a_bccmt_student_embeds_exactly_as_without_it_in_eval_and_mixes_in_training() -> None:
    torch.manual_seed(0)
    model = create_model("bccmt_tiny", dropout=0.0)
    feats = torch.randn(4, 120, 80)
    modules = bccmt_mixstyle_modules(model)
    assert modules == [model.network.stage1[-1], model.network.stage2[-1]]
    _eval_unchanged_training_mixed(
        model, modules, lambda: model.network(feats)[0], np.zeros(4, int)
    )
    with pytest.raises(ValueError, match="BC-CMT"):
        bccmt_mixstyle_modules(create_model("lcnn_wide"))
