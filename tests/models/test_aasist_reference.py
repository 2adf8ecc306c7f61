"""The AASIST graph family against an independent implementation of the papers' equations.

The reference below is written from the equations of AASIST (Jung et al., ICASSP 2022), its
SSL front-end variant (Tak et al., Odyssey 2022) and SpAArSIST (magnitude node scoring, mean
aggregation, separate k_train / k_infer), reading the weights of a voxguard model by their
state-dict names and using only ``torch.nn.functional``. Every check runs at *finite*
temperatures on random weights and random batch-norm statistics, in float64, so a transposed
softmax or a swapped projection shows as an O(1e-2) difference instead of hiding behind the
nearly uniform attention of a temperature-100 layer.

Attention convention of the papers: for node i (query) and node j (key),
``alpha_ij = exp(e_ij / tau) / sum_k exp(e_ik / tau)``, so each node's weights sum to 1.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

import voxguard as vg
from voxguard.layers.graph import HSGAL, GraphAttentionLayer
from voxguard.models import get_entry
from voxguard.models.cm.graph_backend import GraphBackend, GraphBackendConfig

P = dict[str, torch.Tensor]
TEMPS = (2.0, 2.0, 1.0, 1.0)  # finite everywhere: the attention maps are far from uniform
TINY = GraphBackendConfig(
    in_dim=24,
    ll_dim=30,
    filts=((1, 4), (4, 4), (4, 8), (8, 8)),
    gat_dims=(8, 6),
    pool_ratios=(0.5, 0.7, 0.5, 0.5),
    temperatures=TEMPS,
)
VARIANTS = {
    "ssl_aasist": TINY,
    "spaarsist_base": dataclasses.replace(TINY, out_dim=16, head_dims=(12, 8)),
    "spaarsist_mag": dataclasses.replace(
        TINY, out_dim=16, head_dims=(12, 8), node_scoring="magnitude"
    ),
    "spaarsist_rank1": dataclasses.replace(
        TINY,
        out_dim=16,
        head_dims=(12, 8),
        node_scoring="magnitude",
        stack_aggregation="mean",
        k_train=0.3,
        k_infer=0.1,
    ),
}


# --- the equations ------------------------------------------------------------------------------


def _lin(x: torch.Tensor, p: P, name: str) -> torch.Tensor:
    return x @ p[f"{name}.weight"].T + p[f"{name}.bias"]


def _bn(x: torch.Tensor, p: P, name: str, eps: float = 1e-5) -> torch.Tensor:
    """Eval-mode batch norm over axis 1 (channels)."""
    shape = [1, -1] + [1] * (x.dim() - 2)

    def g(k: str) -> torch.Tensor:
        return p[f"{name}.{k}"].view(shape)

    return (x - g("running_mean")) / torch.sqrt(g("running_var") + eps) * g("weight") + g("bias")


def _node_bn(x: torch.Tensor, p: P, name: str) -> torch.Tensor:
    """Batch norm of (B, N, D) node features over D."""
    return _bn(x.reshape(-1, x.shape[-1]), p, name).reshape(x.shape)


def _pair_features(x: torch.Tensor, p: P, name: str) -> torch.Tensor:
    """tanh(W (x_i * x_j)) for every ordered node pair: (B, N, N, D_out)."""
    return torch.tanh(_lin(x[:, :, None, :] * x[:, None, :, :], p, name))


def ref_gat(x: torch.Tensor, p: P, name: str, tau: float) -> torch.Tensor:
    """GAT: h_i = SELU(BN(W_a sum_j alpha_ij x_j + W_n x_i)), alpha over keys j."""
    e = _pair_features(x, p, f"{name}.att_proj") @ p[f"{name}.att_weight"][:, 0]  # (B, N, N)
    alpha = torch.softmax(e / tau, dim=2)
    h = _lin(alpha @ x, p, f"{name}.proj_with_att") + _lin(x, p, f"{name}.proj_without_att")
    return F.selu(_node_bn(h, p, f"{name}.bn"))


def ref_hsgal(
    x1: torch.Tensor, x2: torch.Tensor, m: torch.Tensor, p: P, name: str, tau: float, mean: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """HS-GAL: type projections, one attention vector per (type_i, type_j) pair, stack node
    attention over the nodes; SpAArSIST's mean aggregation keeps only the plain projections."""
    n1 = x1.shape[1]
    x = torch.cat([_lin(x1, p, f"{name}.proj_type1"), _lin(x2, p, f"{name}.proj_type2")], dim=1)
    if mean:
        h = _lin(x, p, f"{name}.proj_without_att")
        m = _lin(m, p, f"{name}.proj_without_attM").expand(x.shape[0], -1, -1)
        return h[:, :n1], h[:, n1:], m
    n = x.shape[1]
    kind = torch.full((n, n), 2)  # across types: att_weight12 (both directions)
    kind[:n1, :n1] = 0
    kind[n1:, n1:] = 1
    vectors = torch.stack([p[f"{name}.att_weight{k}"][:, 0] for k in ("11", "22", "12")])  # (3, D)
    e = torch.einsum("bijd,ijd->bij", _pair_features(x, p, f"{name}.att_proj"), vectors[kind])
    alpha = torch.softmax(e / tau, dim=2)
    h = _lin(alpha @ x, p, f"{name}.proj_with_att") + _lin(x, p, f"{name}.proj_without_att")
    h = F.selu(_node_bn(h, p, f"{name}.bn"))
    s = torch.tanh(_lin(x * m, p, f"{name}.att_projM")) @ p[f"{name}.att_weightM"][:, 0]
    beta = torch.softmax(s / tau, dim=1)  # (B, N): weights of the nodes for the stack node
    agg = torch.einsum("bn,bnd->bd", beta, x)[:, None]
    m = _lin(agg, p, f"{name}.proj_with_attM") + _lin(m, p, f"{name}.proj_without_attM")
    return h[:, :n1], h[:, n1:], m


def ref_pool(h: torch.Tensor, p: P, name: str, ratio: float, magnitude: bool) -> torch.Tensor:
    """Top-k nodes, k = max(floor(N * ratio), 1): by sigmoid(w.h) with gating, or by ||h||^2."""
    if magnitude:
        s = (h * h).sum(-1)
    else:
        s = torch.sigmoid(_lin(h, p, f"{name}.proj"))[..., 0]
        h = h * s[..., None]
    k = max(int(h.shape[1] * ratio), 1)
    idx = s.argsort(dim=1, descending=True)[:, :k]
    return torch.stack([h[b, idx[b]] for b in range(h.shape[0])])


def ref_graph_readout(
    e_s: torch.Tensor,
    e_t: torch.Tensor,
    p: P,
    temps: tuple[float, ...],
    ratios: tuple[float, float, float],
    magnitude: bool = False,
    mean: bool = False,
) -> torch.Tensor:
    """GAT-S / GAT-T, pools, two branches of two HS-GAL layers, max across branches, readout."""
    out_s = ref_pool(ref_gat(e_s, p, "GAT_layer_S", temps[0]), p, "pool_S", ratios[0], magnitude)
    out_t = ref_pool(ref_gat(e_t, p, "GAT_layer_T", temps[1]), p, "pool_T", ratios[1], magnitude)
    branches = []
    for b in ("1", "2"):
        t, s, m = ref_hsgal(
            out_t, out_s, p[f"master{b}"], p, f"HtrgGAT_layer_ST{b}1", temps[2], mean
        )
        s = ref_pool(s, p, f"pool_hS{b}", ratios[2], magnitude)
        t = ref_pool(t, p, f"pool_hT{b}", ratios[2], magnitude)
        t2, s2, m2 = ref_hsgal(t, s, m, p, f"HtrgGAT_layer_ST{b}2", temps[2], mean)
        branches.append((t + t2, s + s2, m + m2))
    (t1, s1, m1), (t2, s2, m2) = branches
    t, s, m = torch.maximum(t1, t2), torch.maximum(s1, s2), torch.maximum(m1, m2)
    feats = [t.abs().amax(1), t.mean(1), s.abs().amax(1), s.mean(1), m[:, 0]]
    return torch.cat(feats, dim=1)


def _res_block(x: torch.Tensor, p: P, name: str) -> torch.Tensor:
    """conv(2x3) -> BN -> SELU -> conv(2x3), plus the (1x3-conv-projected) input."""
    out = F.conv2d(x, p[f"{name}.conv1.weight"], p[f"{name}.conv1.bias"], padding=(1, 1))
    out = F.selu(_bn(out, p, f"{name}.bn2"))
    out = F.conv2d(out, p[f"{name}.conv2.weight"], p[f"{name}.conv2.bias"], padding=(0, 1))
    if f"{name}.conv_downsample.weight" in p:
        x = F.conv2d(
            x,
            p[f"{name}.conv_downsample.weight"],
            p[f"{name}.conv_downsample.bias"],
            padding=(0, 1),
        )
    return out + x


def _conv1x1(x: torch.Tensor, p: P, name: str) -> torch.Tensor:
    return F.conv2d(x, p[f"{name}.weight"], p[f"{name}.bias"])


def ref_backend(feats: torch.Tensor, p: P, cfg: GraphBackendConfig) -> torch.Tensor:
    """SSL-AASIST / SpAArSIST backend in eval mode: features (B, T, D) -> logits (B, 2)."""
    x = _lin(feats, p, "LL").transpose(1, 2)[:, None]
    x = F.selu(_bn(F.max_pool2d(x, (3, 3)), p, "first_bn"))
    for i in range(6):
        x = _res_block(x, p, f"encoder.{i}.0")
    x = F.selu(_bn(x, p, "first_bn1"))
    w = _conv1x1(_bn(F.selu(_conv1x1(x, p, "attention.0")), p, "attention.2"), p, "attention.3")
    e_s = (x * torch.softmax(w, dim=-1)).sum(-1).transpose(1, 2) + p["pos_S"]
    e_t = (x * torch.softmax(w, dim=-2)).sum(-2).transpose(1, 2)
    if cfg.k_train is None:
        ratios = cfg.pool_ratios[:3]
    else:
        k = cfg.k_train if cfg.k_infer is None else cfg.k_infer
        ratios = (k, k, k)
    hidden = ref_graph_readout(
        e_s,
        e_t,
        p,
        cfg.temperatures,
        ratios,
        magnitude=cfg.node_scoring == "magnitude",
        mean=cfg.stack_aggregation == "mean",
    )
    out = _lin(hidden, p, "out_layer")
    for i in range(len(cfg.head_dims)):  # Linear -> BN -> ReLU per hidden size
        out = F.relu(_bn(_lin(out, p, f"classifier.{3 * i}"), p, f"classifier.{3 * i + 1}"))
    if cfg.head_dims:
        out = _lin(out, p, f"classifier.{3 * len(cfg.head_dims)}")
    return out


# --- helpers ------------------------------------------------------------------------------------


def randomise(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Seeded default initialisation plus random batch-norm statistics and affine parameters
    (a fresh batch norm is the identity in eval mode); float64, eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                n = module.num_features
                module.running_mean.copy_(0.3 * torch.randn(n, generator=g))
                module.running_var.copy_(0.5 + torch.rand(n, generator=g))
                module.weight.copy_(1.0 + 0.2 * torch.randn(n, generator=g))
                module.bias.copy_(0.2 * torch.randn(n, generator=g))
    return model.double().eval()


def _state(model: torch.nn.Module) -> P:
    return {k: v.detach() for k, v in model.state_dict().items()}


def _attention_maps(model: torch.nn.Module, run) -> list[torch.Tensor]:
    maps: list[torch.Tensor] = []
    originals = {}
    for module in model.modules():
        if isinstance(module, HSGAL):
            originals[module] = module._attention

            def wrapped(x, n1, _orig=module._attention):
                out = _orig(x, n1)
                maps.append(out)
                return out

            module._attention = wrapped
    try:
        run()
    finally:
        for module, fn in originals.items():
            module._attention = fn
    return maps


# --- the tests ----------------------------------------------------------------------------------


def test_every_hsgal_attention_row_sums_to_one():
    torch.manual_seed(0)
    model = randomise(GraphBackend(VARIANTS["spaarsist_base"]), seed=0)
    feats = torch.randn(2, 60, TINY.in_dim, dtype=torch.float64)
    maps = _attention_maps(model, lambda: model(feats))
    assert len(maps) == 4
    for a in maps:
        rows = a.sum(dim=-1)
        torch.testing.assert_close(rows, torch.ones_like(rows), atol=1e-12, rtol=0)
        assert not torch.allclose(a.sum(dim=-2), torch.ones_like(rows))  # not column-stochastic


@pytest.mark.parametrize("tau", [0.5, 1.0, 2.0])
def test_gat_layer_matches_the_equations(tau):
    torch.manual_seed(1)
    layer = randomise(GraphAttentionLayer(6, 5, temperature=tau), seed=1)
    x = torch.randn(3, 7, 6, dtype=torch.float64)
    p = {f".{k}": v for k, v in _state(layer).items()}
    torch.testing.assert_close(layer(x), ref_gat(x, p, "", tau), atol=1e-10, rtol=0)


@pytest.mark.parametrize("tau", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("mean", [False, True])
def test_hsgal_layer_matches_the_equations(tau, mean):
    torch.manual_seed(2)
    layer = HSGAL(6, 5, temperature=tau, aggregation="mean" if mean else "attention")
    layer = randomise(layer, seed=2)
    x1, x2 = torch.randn(2, 4, 6, dtype=torch.float64), torch.randn(2, 3, 6, dtype=torch.float64)
    m = torch.randn(1, 1, 6, dtype=torch.float64)
    p = {f".{k}": v for k, v in _state(layer).items()}
    for got, want in zip(layer(x1, x2, m), ref_hsgal(x1, x2, m, p, "", tau, mean), strict=True):
        torch.testing.assert_close(got, want, atol=1e-10, rtol=0)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_graph_backend_matches_the_equations(name):
    cfg = VARIANTS[name]
    torch.manual_seed(3)
    model = randomise(GraphBackend(cfg), seed=3)
    feats = torch.randn(3, 75, cfg.in_dim, dtype=torch.float64)
    with torch.no_grad():
        got = model(feats)
    torch.testing.assert_close(got, ref_backend(feats, _state(model), cfg), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["spaarsist_base", "spaarsist_mag", "spaarsist_rank1"])
def test_registered_spaarsist_backends_match_the_equations_at_finite_temperature(name):
    cfg = dataclasses.replace(get_entry(name).config, temperatures=TEMPS)
    torch.manual_seed(4)
    model = randomise(GraphBackend(cfg), seed=4)
    feats = torch.randn(2, 45, cfg.in_dim, dtype=torch.float64)
    with torch.no_grad():
        got = model(feats)
    torch.testing.assert_close(got, ref_backend(feats, _state(model), cfg), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["aasist", "aasist_l"])
def test_sinc_aasist_graph_matches_the_equations_at_finite_temperature(name):
    cfg = get_entry(name).config
    torch.manual_seed(5)
    model = randomise(vg.create_model(name, temperatures=TEMPS), seed=5)
    enc = cfg.filts[-1][-1]
    e_s = torch.randn(2, cfg.sinc_channels // 3, enc, dtype=torch.float64)
    e_t = torch.randn(2, 29, enc, dtype=torch.float64)
    r = cfg.pool_ratios
    with torch.no_grad():
        got = model._graph_readout(e_s + model.pos_S, e_t)
    want = ref_graph_readout(
        e_s + model.pos_S.detach(), e_t, _state(model), TEMPS, (r[0], r[1], r[2])
    )
    torch.testing.assert_close(got, want, atol=1e-6, rtol=0)
