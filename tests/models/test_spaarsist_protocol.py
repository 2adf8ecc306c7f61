"""SpAArSIST's protocol: a baseline checkpoint evaluated as magnitude / mean / k_infer variants
through the validated loader, and the importer of public SpAArSIST checkpoints."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import voxguard as vg
from voxguard.errors import WeightsError
from voxguard.models.cm.graph_backend import GraphBackend
from voxguard.models.cm.spaarsist import derive_variant, import_spaarsist_checkpoint

TINY = dict(in_dim=24, ll_dim=30, filts=((1, 4), (4, 4), (4, 8), (8, 8)), gat_dims=(8, 6))
LAYERS = ("ST11", "ST12", "ST21", "ST22")
POOLS = ("pool_S", "pool_T", "pool_hS1", "pool_hT1", "pool_hS2", "pool_hT2")
SCORERS = {f"{p}.proj.{w}" for p in POOLS for w in ("weight", "bias")}
ATTENTION = {
    f"HtrgGAT_layer_{layer}.{m}.{w}"
    for layer in LAYERS
    for m in ("att_proj", "att_projM", "proj_with_att", "proj_with_attM")
    for w in ("weight", "bias")
}


def _base(seed: int = 0) -> GraphBackend:
    torch.manual_seed(seed)
    model = vg.create_model("spaarsist_base", out_dim=16, head_dims=(12, 8), k_train=0.3, **TINY)
    with torch.no_grad():  # make the learned scorers and batch norms matter
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.3)
                m.running_var.uniform_(0.5, 1.5)
    return model.eval()


def _feats(batch: int = 3, frames: int = 90) -> torch.Tensor:
    return torch.randn(batch, frames, TINY["in_dim"], generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize(
    "switches,dropped,name",
    [
        ({}, set(), "spaarsist_base"),
        ({"node_scoring": "magnitude"}, SCORERS, "spaarsist_mag"),
        ({"stack_aggregation": "mean"}, ATTENTION, "spaarsist_base"),
        (
            {"node_scoring": "magnitude", "stack_aggregation": "mean"},
            SCORERS | ATTENTION,
            "spaarsist_rank1",
        ),
        (
            {"node_scoring": "magnitude", "stack_aggregation": "mean", "k_infer": 0.1},
            SCORERS | ATTENTION,
            "spaarsist_rank1",
        ),
    ],
)
def test_variant_drops_exactly_the_switched_off_keys(switches, dropped, name):
    base = _base()
    variant, report = derive_variant(base, **switches)
    assert set(report.dropped) == dropped and report.name == name
    assert set(report.changed) == set(switches)
    assert not variant.training
    # every kept tensor is the base's, and the variant computes what a fresh model of its
    # config computes with those tensors
    state = base.state_dict()
    for k, v in variant.state_dict().items():
        assert torch.equal(v, state[k]), k
    fresh = GraphBackend(report.config).eval()
    fresh.load_state_dict({k: state[k] for k in fresh.state_dict()}, strict=True)
    with torch.no_grad():
        torch.testing.assert_close(variant(_feats()), fresh(_feats()))


def test_k_infer_variant_changes_only_the_eval_pooling():
    base = _base()
    variant, report = derive_variant(base, k_infer=0.1)
    assert report.dropped == () and report.changed == {"k_infer": (None, 0.1)}
    assert variant.pool_S.k_train == 0.3 and variant.pool_S.k_infer == 0.1
    with torch.no_grad():
        assert not torch.allclose(variant(_feats()), base(_feats()))


def test_variant_loader_refuses_what_the_checkpoint_cannot_give():
    base = _base()
    rank1, _ = derive_variant(base, node_scoring="magnitude", stack_aggregation="mean")
    with pytest.raises(ValueError, match="no pool scorer weights"):
        derive_variant(rank1, node_scoring="learned")
    with pytest.raises(ValueError, match="no HS-GAL attention weights"):
        derive_variant(rank1, stack_aggregation="attention")
    with pytest.raises(ValueError, match="pool_ratios"):
        derive_variant(vg.create_model("ssl_aasist", pool_ratios=(0.5, 0.7, 0.5, 0.5)), k_infer=0.1)
    with pytest.raises(TypeError, match="GraphBackend"):
        derive_variant(vg.create_model("debug_cm"), k_infer=0.1)


def _public_state(model: GraphBackend) -> dict[str, torch.Tensor]:
    """What ``SpAArSISTModel.state_dict()`` of the public code holds for the same weights."""
    state = {}
    for k, v in model.state_dict().items():
        if k.startswith("classifier."):
            state[k] = v.clone()
        else:
            state[f"feature_processor.{k}"] = v.clone()
    last = f"classifier.{3 * len(model.config.head_dims)}"
    for suffix in (".weight", ".bias"):  # the public head: bona fide at index 0
        state[last + suffix] = state[last + suffix].flip(0)
    state["extractor.model.encoder.transformer.layer_norm.weight"] = torch.ones(4)
    return state


def test_public_checkpoint_imports_with_bona_fide_at_index_1(tmp_path):
    base = _base()
    path = tmp_path / "best_model.pt"
    torch.save(_public_state(base), path)
    model, report = import_spaarsist_checkpoint(path, k_train=0.3)
    assert dataclasses.asdict(model.config) == dataclasses.asdict(base.config)
    assert report.dropped == ("extractor.model.encoder.transformer.layer_norm.weight",)
    assert any("index 0" in n for n in report.notes)
    with torch.no_grad():
        torch.testing.assert_close(model(_feats()), base(_feats()))


def test_public_checkpoint_imports_as_the_rank1_variant():
    base = _base()
    model, report = import_spaarsist_checkpoint(
        _public_state(base),
        k_train=0.3,
        k_infer=0.1,
        node_scoring="magnitude",
        stack_aggregation="mean",
    )
    assert report.name == "spaarsist_rank1"
    assert set(report.dropped) == SCORERS | ATTENTION | {
        "extractor.model.encoder.transformer.layer_norm.weight"
    }
    expected, _ = derive_variant(
        base, node_scoring="magnitude", stack_aggregation="mean", k_infer=0.1
    )
    with torch.no_grad():
        torch.testing.assert_close(model(_feats()), expected(_feats()))
    with pytest.raises(WeightsError, match="SpAArSISTModel"):
        import_spaarsist_checkpoint({"LL.weight": torch.zeros(2, 2)}, k_train=0.3)
