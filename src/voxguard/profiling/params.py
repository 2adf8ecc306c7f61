"""Parameter counts, whole model and per component."""

from __future__ import annotations

from torch import nn

#: Children reported as the components of composed models (see docs/architecture.md).
COMPOSED_COMPONENTS = ("frontend", "merge", "backend")
#: Name of the pseudo-component holding what no reported child owns.
REST = "(rest)"


def count_params(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``module``; shared parameters are counted once."""
    return sum(
        p.numel()
        for p in module.parameters()  # parameters() already de-duplicates shared tensors
        if p.requires_grad or not trainable_only
    )


def components(model: nn.Module) -> dict[str, nn.Module]:
    """The children reported separately: ``frontend``, ``merge``, ``backend`` first, then the rest.

    Composed models (children named ``frontend``/``merge``/``backend``) list those in that
    order; any other model lists its top-level children in definition order.
    """
    children = dict(model.named_children())
    ordered = {name: children[name] for name in COMPOSED_COMPONENTS if name in children}
    ordered.update({n: m for n, m in children.items() if n not in ordered})
    return ordered


def component_params(model: nn.Module) -> dict[str, int]:
    """Parameters of each component; ``(rest)`` holds parameters registered on the model itself."""
    out = {name: count_params(child) for name, child in components(model).items()}
    rest = count_params(model) - sum(out.values())
    if rest:
        out[REST] = rest
    return out
