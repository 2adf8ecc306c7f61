"""Model registry: ``@register_model`` on a builder, ``create_model(name, **overrides)``.

Each registered name maps to a builder ``fn(config) -> nn.Module`` and a frozen config dataclass
holding the variant's architecture. Overrides are applied with ``dataclasses.replace`` so an
unknown field is an error, not a silent no-op.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from voxguard.errors import UnknownModelError


@dataclass(frozen=True)
class ModelEntry:
    """One registered model variant."""

    name: str
    task: str  # "cm" (countermeasure), "spk" (speaker embedding), "sasv"
    builder: Callable[[Any], nn.Module]
    config: Any  # frozen dataclass instance: the default architecture
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


_MODELS: dict[str, ModelEntry] = {}


def register_model(
    name: str, *, task: str, config: Any, description: str = "", tags: tuple[str, ...] = ()
) -> Callable[[Callable[[Any], nn.Module]], Callable[[Any], nn.Module]]:
    """Register ``builder(config) -> nn.Module`` under ``name`` with its default ``config``."""
    if not dataclasses.is_dataclass(config):
        raise TypeError(f"config of model {name!r} must be a dataclass instance")

    def decorator(builder: Callable[[Any], nn.Module]) -> Callable[[Any], nn.Module]:
        if name in _MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        _MODELS[name] = ModelEntry(name, task, builder, config, description, tuple(tags))
        return builder

    return decorator


def _ensure_loaded() -> None:
    # Importing the model packages runs their @register_model decorators.
    from voxguard import models  # noqa: F401


def get_entry(name: str) -> ModelEntry:
    """Return the registry entry of ``name`` or raise a helpful error."""
    _ensure_loaded()
    try:
        return _MODELS[name]
    except KeyError:
        close = fnmatch.filter(_MODELS, f"*{name}*") or sorted(_MODELS)
        raise UnknownModelError(
            f"unknown model {name!r}; known models include: {', '.join(sorted(close)[:12])} "
            "(run `voxguard models` for the full list)"
        ) from None


def list_models(pattern: str = "*", task: str | None = None) -> list[str]:
    """Names of registered models matching a glob ``pattern`` (and ``task`` if given)."""
    _ensure_loaded()
    return sorted(
        n
        for n, e in _MODELS.items()
        if fnmatch.fnmatch(n, pattern) and (task is None or e.task == task)
    )


def resolve_config(name: str, **overrides: Any) -> Any:
    """The default config of ``name`` with ``overrides`` applied."""
    entry = get_entry(name)
    if not overrides:
        return entry.config
    valid = {f.name for f in dataclasses.fields(entry.config)}
    bad = sorted(set(overrides) - valid)
    if bad:
        raise TypeError(
            f"model {name!r} has no config field(s) {bad}; valid fields: {sorted(valid)}"
        )
    return dataclasses.replace(entry.config, **overrides)


def create_model(name: str, **overrides: Any) -> nn.Module:
    """Build the registered model ``name``, with config fields overridden by ``overrides``.

    The returned module carries ``model_name`` and ``config`` attributes, which is what
    :func:`voxguard.models.save_pretrained` writes to ``config.json``.
    """
    entry = get_entry(name)
    config = resolve_config(name, **overrides)
    model = entry.builder(config)
    model.model_name = name
    model.config = config
    model.task = entry.task
    return model
