import pytest
import torch
from torch.nn import functional as F

from voxguard.frontends.merge import AttentiveMerge, LastLayer, WeightedSum, create_merge


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def attm_params(L: int, D: int) -> int:
    """SPEC §1.2 by hand: W (D x 1), W1 (L x L/2), W2 (L/2 x L) without bias, two biased Linears."""
    wide = L * D
    return D + 2 * L * (L // 2) + (wide * (wide // 4) + wide // 4) + ((wide // 4) * D + D)


def test_attm_param_count_matches_spec_at_l12_d1024():
    with torch.device("meta"):
        merge = AttentiveMerge(12, 1024)
    assert n_params(merge) == 40_899_728 == attm_params(12, 1024)
    # the public code's dead Linear(L*D/4, L*D/4) would add 9,440,256 (SPEC: 50,339,984)
    assert n_params(merge) + 3072 * 3072 + 3072 == 50_339_984


@pytest.mark.parametrize("L,D", [(2, 8), (4, 12), (5, 16)])
def test_attm_param_count_small(L, D):
    assert n_params(AttentiveMerge(L, D)) == attm_params(L, D)


def test_attm_matches_the_formula():
    torch.manual_seed(0)
    B, L, T, D = 2, 4, 5, 8
    merge = AttentiveMerge(L, D)
    h = torch.randn(B, L, T, D)
    x2 = h.mean(dim=2)  # (B, L, D)
    x3 = F.silu(x2 @ merge.w.weight.T)  # (B, L, 1)
    a = torch.sigmoid(F.silu(x3.transpose(1, 2) @ merge.w1.weight.T) @ merge.w2.weight.T)
    cat = torch.cat([h[:, i] * a[:, 0, i, None, None] for i in range(L)], dim=-1)  # (B, T, L*D)
    lin1, lin2 = merge.proj[0], merge.proj[2]
    expected = F.silu(cat @ lin1.weight.T + lin1.bias) @ lin2.weight.T + lin2.bias
    torch.testing.assert_close(merge(h), expected)
    assert merge(h).shape == (B, T, D)


def test_attm_padded_item_equals_item_alone():
    torch.manual_seed(1)
    merge = AttentiveMerge(3, 8)
    alone = torch.randn(1, 3, 6, 8)
    padded = torch.cat([alone, torch.randn(1, 3, 4, 8)], dim=2)
    batch = torch.cat([padded, torch.randn(1, 3, 10, 8)])
    out = merge(batch, torch.tensor([6, 10]))
    torch.testing.assert_close(out[:1, :6], merge(alone), atol=1e-5, rtol=1e-5)


def test_weighted_sum_is_softmax_weighted():
    h = torch.randn(2, 3, 4, 5)
    ws = WeightedSum(3, 5)
    torch.testing.assert_close(ws(h), h.mean(dim=1))  # zero init -> uniform weights
    with torch.no_grad():
        ws.weights.copy_(torch.tensor([0.0, 1.0, 2.0]))
    e = torch.exp(torch.tensor([0.0, 1.0, 2.0]))
    w = e / e.sum()
    torch.testing.assert_close(ws(h), w[0] * h[:, 0] + w[1] * h[:, 1] + w[2] * h[:, 2])


def test_last_layer_and_factory():
    h = torch.randn(2, 3, 4, 5)
    assert torch.equal(LastLayer(3, 5)(h), h[:, 2])
    assert n_params(create_merge("last", 3, 5)) == 0
    assert isinstance(create_merge("weighted_sum", 3, 5), WeightedSum)
    with pytest.raises(ValueError, match="unknown layer merge"):
        create_merge("max", 3, 5)


def test_wrong_shape_is_explained():
    with pytest.raises(ValueError, match="num_layers/dim"):
        AttentiveMerge(4, 8)(torch.randn(2, 3, 5, 8))
