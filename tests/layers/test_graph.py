"""Graph layers: pooled node counts, scoring rules, and the attention maps in limiting cases."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from voxguard.layers.graph import HSGAL, GraphAttentionLayer, GraphPool, num_kept

RATIOS = [0.05, 0.1, 0.3, 0.4, 0.5, 0.7, 0.9, 1.0]


@pytest.mark.parametrize("ratio", RATIOS)
def test_num_kept_matches_python_float_rule(ratio):
    for n in range(1, 3001):
        assert num_kept(n, ratio) == max(int(n * ratio), 1), (n, ratio)


@pytest.mark.parametrize("ratio", RATIOS)
def test_num_kept_on_traced_size_tensor_keeps_float64_rule(ratio):
    # Traced sizes are tensors; the graph computation must reproduce Python's float rule,
    # including its rounding (int(90 * 0.7) == 62, int(10 * 0.3) == 3).
    for n in range(1, 501):
        assert int(num_kept(torch.tensor(n), ratio)) == max(int(n * ratio), 1), (n, ratio)


def _bn_eval_scale(x: torch.Tensor) -> torch.Tensor:
    # A fresh BatchNorm in eval mode: running mean 0, variance 1, weight 1, bias 0.
    return x / (1.0 + 1e-5) ** 0.5


def test_learned_pool_keeps_top_scores_gated():
    torch.manual_seed(0)
    pool = GraphPool(8, k_train=0.5, dropout=0.0).eval()
    h = torch.randn(2, 10, 8)
    out = pool(h)
    assert out.shape == (2, 5, 8)
    scores = torch.sigmoid(h @ pool.proj.weight.T + pool.proj.bias)  # (2, 10, 1)
    for b in range(2):
        top = sorted(range(10), key=lambda i: -scores[b, i, 0].item())[:5]
        expected = torch.stack([h[b, i] * scores[b, i] for i in top])
        torch.testing.assert_close(out[b], expected)


def test_magnitude_pool_keeps_largest_norms_ungated():
    pool = GraphPool(4, k_train=0.5, k_infer=0.25, dropout=0.3, scoring="magnitude")
    assert sum(p.numel() for p in pool.parameters()) == 0
    norms = torch.tensor([1.0, 5.0, 2.0, 7.0, 3.0, 0.5, 6.0, 4.0])
    h = torch.nn.functional.normalize(torch.randn(1, 8, 4), dim=-1) * norms[None, :, None]
    pool.eval()
    out = pool(h)
    torch.testing.assert_close(out[0], h[0, [3, 6]])  # k = int(8 * 0.25) = 2, no gating
    pool.train()
    assert pool(h).shape == (1, 4, 4)  # k_train = 0.5


def test_pool_ratio_follows_mode_and_floor_of_one():
    pool = GraphPool(4, k_train=0.3, k_infer=0.1, scoring="magnitude")
    h = torch.randn(3, 42, 4)
    assert pool.train()(h).shape[1] == 12
    assert pool.eval()(h).shape[1] == 4
    assert pool(torch.randn(3, 5, 4)).shape[1] == 1


def test_pool_rejects_bad_arguments():
    with pytest.raises(ValueError, match="scoring"):
        GraphPool(4, 0.5, scoring="norm")
    with pytest.raises(ValueError, match="ratios"):
        GraphPool(4, 1.5)


def test_pool_count_stays_symbolic_under_torch_export():
    pool = GraphPool(4, k_train=0.7, scoring="magnitude").eval()
    n = torch.export.Dim("n", min=4, max=500)
    prog = torch.export.export(pool, (torch.randn(1, 29, 4),), dynamic_shapes=({1: n},))
    for nodes in (4, 10, 29, 90, 100, 301):
        assert prog.module()(torch.randn(1, nodes, 4)).shape[1] == max(int(nodes * 0.7), 1)


def test_gat_with_huge_temperature_is_mean_aggregation():
    torch.manual_seed(1)
    gat = GraphAttentionLayer(6, 5, temperature=1e12).eval()
    x = torch.randn(2, 7, 6)
    agg = x.mean(dim=1, keepdim=True).expand_as(x)
    expected = F.selu(_bn_eval_scale(gat.proj_with_att(agg) + gat.proj_without_att(x)))
    torch.testing.assert_close(gat(x), expected)


def test_gat_attention_is_permutation_equivariant():
    torch.manual_seed(2)
    gat = GraphAttentionLayer(6, 5, temperature=2.0).eval()
    x = torch.randn(2, 7, 6)
    perm = torch.randperm(7)
    torch.testing.assert_close(gat(x)[:, perm], gat(x[:, perm]))


def test_hsgal_with_huge_temperature_is_mean_aggregation():
    torch.manual_seed(3)
    layer = HSGAL(6, 4, temperature=1e12).eval()
    x1, x2, master = torch.randn(2, 3, 6), torch.randn(2, 5, 6), torch.randn(1, 1, 6)
    y1, y2, m = layer(x1, x2, master)
    x = torch.cat([layer.proj_type1(x1), layer.proj_type2(x2)], dim=1)
    mean = x.mean(dim=1, keepdim=True)
    nodes = F.selu(_bn_eval_scale(layer.proj_with_att(mean) + layer.proj_without_att(x)))
    torch.testing.assert_close(torch.cat([y1, y2], dim=1), nodes)
    torch.testing.assert_close(m, layer.proj_with_attM(mean) + layer.proj_without_attM(master))
    assert (y1.shape, y2.shape, m.shape) == ((2, 3, 4), (2, 5, 4), (2, 1, 4))


def test_hsgal_uses_type_specific_attention_vectors():
    torch.manual_seed(4)
    layer = HSGAL(6, 4, temperature=1.0).eval()
    x1, x2, master = torch.randn(1, 3, 6), torch.randn(1, 2, 6), torch.randn(1, 1, 6)
    before = layer(x1, x2, master)
    with torch.no_grad():
        layer.att_weight22.mul_(-3.0)  # only spectral-spectral pairs change
    after = layer(x1, x2, master)
    assert torch.allclose(before[2], after[2])  # the stack node uses att_weightM only
    assert not torch.allclose(before[1], after[1])


def test_hsgal_mean_is_plain_projection_with_frozen_unused_params():
    torch.manual_seed(5)
    att, mean = HSGAL(6, 4, aggregation="attention"), HSGAL(6, 4, aggregation="mean")
    removed = sum(p.numel() for p in att.parameters()) - sum(p.numel() for p in mean.parameters())
    assert removed == 4 * (6 * 4 + 4)  # att_proj, att_projM, proj_with_att, proj_with_attM
    frozen = {n for n, p in mean.named_parameters() if not p.requires_grad}
    assert frozen == {
        "att_weight11",
        "att_weight22",
        "att_weight12",
        "att_weightM",
        "bn.weight",
        "bn.bias",
    }
    mean.train()
    x1, x2, master = torch.randn(2, 3, 6), torch.randn(2, 5, 6), torch.randn(1, 1, 6)
    y1, y2, m = mean(x1, x2, master)
    x = torch.cat([mean.proj_type1(x1), mean.proj_type2(x2)], dim=1)
    torch.testing.assert_close(torch.cat([y1, y2], dim=1), mean.proj_without_att(x))
    torch.testing.assert_close(m, mean.proj_without_attM(master).expand(2, 1, 4))
    with pytest.raises(ValueError, match="aggregation"):
        HSGAL(6, 4, aggregation="sum")
