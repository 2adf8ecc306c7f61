"""SpAArSIST's evaluation protocol and its public checkpoints.

The paper trains the *baseline* backend (learned node scoring, HS-GAL attention) at a fixed
``k_train`` and applies magnitude scoring, mean aggregation and ``k_infer`` at evaluation time
to the same checkpoint. :func:`derive_variant` does that explicitly and checks it:

- only the evaluation-time switches may change (``node_scoring``, ``stack_aggregation``,
  ``k_infer``); every other architecture field stays the checkpoint's;
- a switch may only *remove* parameters (learned -> magnitude drops the six ``pool_*.proj``
  scorers; attention -> mean drops ``att_proj``, ``att_projM``, ``proj_with_att`` and
  ``proj_with_attM`` of the four HS-GAL layers); the reverse needs weights the checkpoint lacks
  and is refused;
- the result lists exactly which checkpoint keys it dropped, and every key the variant has is
  loaded strictly (the public ``eval.py`` loads with ``strict=False`` and prints a note).

:func:`import_spaarsist_checkpoint` reads a checkpoint of the public code
(``Security-FIT/SpAArSIST``, ``SpAArSISTModel.state_dict()``): the backend under
``feature_processor.``, the FF head under ``classifier.`` with **bona fide at index 0** (flipped
here to voxguard's index 1), and the torchaudio XLS-R front-end under ``extractor.`` (not
imported: its names are torchaudio's; build the front-end from a ``transformers`` checkpoint).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from typing import Any

import torch

from voxguard.errors import WeightsError
from voxguard.layers.graph import NodeScoring, StackAggregation
from voxguard.models._hub import load_torch_checkpoint
from voxguard.models._registry import build_from_config
from voxguard.models.cm.graph_backend import GraphBackend, GraphBackendConfig

#: The fields the paper's protocol changes at evaluation time.
EVAL_SWITCHES = ("node_scoring", "stack_aggregation", "k_infer")

#: Registered name per (node_scoring, stack_aggregation); learned + mean has no registered
#: variant of its own and is built as ``spaarsist_base`` with ``stack_aggregation="mean"``.
_NAMES = {
    ("learned", "attention"): "spaarsist_base",
    ("magnitude", "attention"): "spaarsist_mag",
    ("magnitude", "mean"): "spaarsist_rank1",
    ("learned", "mean"): "spaarsist_base",
}


@dataclass(frozen=True)
class VariantLoad:
    """What :func:`derive_variant` / :func:`import_spaarsist_checkpoint` did.

    Attributes:
        name: registered model name the variant is built as.
        config: the variant's architecture.
        changed: ``{field: (checkpoint value, variant value)}`` of the switched fields.
        dropped: checkpoint keys the variant does not have, sorted.
        notes: anything else done to the weights (e.g. the flipped head of a public checkpoint).
    """

    name: str
    config: GraphBackendConfig
    changed: dict[str, tuple[Any, Any]]
    dropped: tuple[str, ...]
    notes: tuple[str, ...] = ()


def variant_config(
    base: GraphBackendConfig,
    *,
    node_scoring: NodeScoring | None = None,
    stack_aggregation: StackAggregation | None = None,
    k_infer: float | None = None,
) -> GraphBackendConfig:
    """The config of ``base`` with the evaluation-time switches applied (``None``: unchanged).

    Raises:
        ValueError: a switch that would need weights a ``base`` checkpoint does not have
            (magnitude -> learned, mean -> attention), or ``k_infer`` on a checkpoint whose pools
            use different ``pool_ratios`` and no ``k_train``.
    """
    scoring = base.node_scoring if node_scoring is None else node_scoring
    aggregation = base.stack_aggregation if stack_aggregation is None else stack_aggregation
    if base.node_scoring == "magnitude" and scoring == "learned":
        raise ValueError(
            "a magnitude-scoring checkpoint has no pool scorer weights: it cannot be evaluated "
            "with node_scoring='learned' (train the baseline, then switch to magnitude)"
        )
    if base.stack_aggregation == "mean" and aggregation == "attention":
        raise ValueError(
            "a mean-aggregation checkpoint has no HS-GAL attention weights: it cannot be "
            "evaluated with stack_aggregation='attention'"
        )
    changes: dict[str, Any] = {"node_scoring": scoring, "stack_aggregation": aggregation}
    if k_infer is not None:
        k_train = base.k_train
        if k_train is None:
            if len(set(base.pool_ratios[:3])) != 1:
                raise ValueError(
                    f"k_infer needs one training ratio for all pools; this checkpoint uses "
                    f"pool_ratios={base.pool_ratios} (set k_train in its config)"
                )
            k_train = base.pool_ratios[0]
        changes.update(k_train=k_train, k_infer=k_infer)
    return dataclasses.replace(base, **changes)


def _keys(name: str, config: GraphBackendConfig) -> set[str]:
    with torch.device("meta"):
        return set(build_from_config(name, config).state_dict())


def _changed(a: GraphBackendConfig, b: GraphBackendConfig) -> dict[str, tuple[Any, Any]]:
    return {
        f.name: (getattr(a, f.name), getattr(b, f.name))
        for f in dataclasses.fields(a)
        if getattr(a, f.name) != getattr(b, f.name)
    }


def _load_variant(
    state: Mapping[str, torch.Tensor],
    base: GraphBackendConfig,
    switches: dict[str, Any],
    notes: tuple[str, ...] = (),
) -> tuple[GraphBackend, VariantLoad]:
    bad = sorted(set(switches) - set(EVAL_SWITCHES))
    if bad:
        raise TypeError(f"only {EVAL_SWITCHES} change at evaluation time, not {bad}")
    config = variant_config(base, **switches)
    base_name = _NAMES[(base.node_scoring, base.stack_aggregation)]
    name = _NAMES[(config.node_scoring, config.stack_aggregation)]
    expected = _keys(base_name, base)
    if set(state) != expected:
        missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
        raise WeightsError(
            f"the checkpoint is not a {base_name} backend with this config: missing "
            f"{missing[:8]}{'...' if len(missing) > 8 else ''}, unexpected "
            f"{extra[:8]}{'...' if len(extra) > 8 else ''}"
        )
    keep = _keys(name, config)
    model = build_from_config(name, config)
    model.load_state_dict({k: state[k] for k in keep}, strict=True)
    report = VariantLoad(
        name, config, _changed(base, config), tuple(sorted(expected - keep)), notes
    )
    return model.eval(), report


#: The SpAArSIST protocol's evaluation-time variants of one base checkpoint: label ->
#: :func:`derive_variant` switches (each also run at several ``k_infer``).
PROTOCOL_VARIANTS: dict[str, dict[str, str]] = {
    "base (learned, attention)": {},
    "magnitude": {"node_scoring": "magnitude"},
    "mean": {"stack_aggregation": "mean"},
    "magnitude + mean (rank-1 structure)": {
        "node_scoring": "magnitude",
        "stack_aggregation": "mean",
    },
}


def derive_variant(
    base: GraphBackend,
    *,
    node_scoring: NodeScoring | None = None,
    stack_aggregation: StackAggregation | None = None,
    k_infer: float | None = None,
) -> tuple[GraphBackend, VariantLoad]:
    """A trained graph backend evaluated as a SpAArSIST variant (the paper's protocol).

    Args:
        base: a trained :class:`GraphBackend` (``create_model`` / ``load_pretrained`` of
            ``ssl_aasist`` or ``spaarsist_*``; for a composed SSL CM pass ``model.backend``).
        node_scoring: ``"magnitude"`` to switch a learned-scoring checkpoint to magnitude.
        stack_aggregation: ``"mean"`` to switch an attention checkpoint to mean aggregation.
        k_infer: the evaluation-time keep ratio of all six graph pools.

    Returns:
        The variant in eval mode, and a :class:`VariantLoad` naming the dropped keys.
    """
    if not isinstance(base, GraphBackend):
        raise TypeError(f"derive_variant takes a GraphBackend, got {type(base).__name__}")
    switches = {
        k: v
        for k, v in dict(
            node_scoring=node_scoring, stack_aggregation=stack_aggregation, k_infer=k_infer
        ).items()
        if v is not None
    }
    return _load_variant(base.state_dict(), base.config, switches)


def _public_config(
    backend: Mapping[str, torch.Tensor],
    head: Mapping[str, torch.Tensor],
    k_train: float,
    k_infer: float | None,
) -> GraphBackendConfig:
    """The architecture a public SpAArSIST state dict was built with, read from its shapes."""
    ll = backend["LL.weight"]
    filts = tuple(tuple(backend[f"encoder.{i}.0.conv1.weight"].shape[1::-1]) for i in range(4))
    g0 = backend["GAT_layer_S.proj_without_att.weight"].shape[0]
    g1 = backend["HtrgGAT_layer_ST11.proj_without_att.weight"].shape[0]
    linears = sorted(
        int(k.split(".")[1]) for k in head if k.endswith(".weight") and head[k].dim() == 2
    )
    return GraphBackendConfig(
        in_dim=ll.shape[1],
        ll_dim=ll.shape[0],
        filts=filts,  # type: ignore[arg-type]
        gat_dims=(g0, g1),
        node_scoring="learned" if "pool_S.proj.weight" in backend else "magnitude",
        stack_aggregation="attention"
        if "HtrgGAT_layer_ST11.att_proj.weight" in backend
        else "mean",
        k_train=k_train,
        k_infer=k_infer,
        out_dim=backend["out_layer.weight"].shape[0],
        head_dims=tuple(head[f"classifier.{i}.weight"].shape[0] for i in linears[:-1]),
    )


def import_spaarsist_checkpoint(
    source: str | PathLike | Mapping[str, torch.Tensor],
    *,
    k_train: float,
    k_infer: float | None = None,
    **switches: Any,
) -> tuple[GraphBackend, VariantLoad]:
    """Load a public SpAArSIST checkpoint's backend and head as a voxguard backend.

    Args:
        source: a ``.pt`` / ``.pth`` file of ``SpAArSISTModel.state_dict()`` (read with
            ``weights_only=True``) or the state dict itself.
        k_train: the keep ratio it was trained with (``--pool_ratio_train``; not stored in it).
        k_infer: the evaluation-time keep ratio (default ``k_train``).
        **switches: ``node_scoring`` / ``stack_aggregation`` to evaluate it as a variant, as the
            public ``eval.py`` does.

    Returns:
        The backend (logit index 1 = bona fide) in eval mode and a :class:`VariantLoad` whose
        ``dropped`` lists every checkpoint key not loaded (the ``extractor.`` front-end and the
        switched-off parameters).
    """
    if isinstance(source, Mapping):
        state = dict(source)
    else:
        state = load_torch_checkpoint(source)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    backend = {
        k.removeprefix("feature_processor."): v
        for k, v in state.items()
        if k.startswith("feature_processor.")
    }
    head = {k: v for k, v in state.items() if k.startswith("classifier.")}
    other = sorted(set(state) - {f"feature_processor.{k}" for k in backend} - set(head))
    unknown = [k for k in other if not k.startswith("extractor.")]
    if not backend or not head or unknown:
        raise WeightsError(
            "not a SpAArSISTModel state dict (expected feature_processor.*, classifier.* and "
            f"extractor.* keys); unexpected: {unknown[:8]}"
        )
    config = _public_config(backend, head, k_train, k_infer)
    last = f"classifier.{3 * len(config.head_dims)}"
    head = dict(head)
    for suffix in (".weight", ".bias"):  # public: index 0 = bona fide; voxguard: index 1
        head[last + suffix] = head[last + suffix].flip(0)
    model, report = _load_variant({**backend, **head}, config, switches)
    notes = (
        f"{last} rows swapped: the public head has bona fide at index 0",
        f"{len(other)} extractor.* keys (torchaudio XLS-R front-end) not imported",
    )
    dropped = tuple(sorted(report.dropped + tuple(other)))
    return model, dataclasses.replace(report, dropped=dropped, notes=notes)
