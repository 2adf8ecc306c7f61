"""Model registry: the only route from a name to a model.

Each registered name maps to a builder ``fn(config) -> nn.Module`` (usually the model class) and
a frozen config dataclass holding the variant's architecture. A family registers all its
variants in one call, ``register_variants(Builder, task=..., variants={name: Variant(...)})``;
``create_model(name, **overrides)`` builds one, and ``build_from_config(name, config)`` builds a
registered architecture with an explicit config (e.g. a backend inside a composed model).
Overrides are applied with ``dataclasses.replace`` so an unknown field is an error, not a
silent no-op.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Callable, Mapping
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


@dataclass(frozen=True)
class Variant:
    """One variant of a family for :func:`register_variants`: its config and a description."""

    config: Any
    description: str = ""
    tags: tuple[str, ...] = ()


def register_variants(
    builder: Callable[[Any], nn.Module],
    *,
    task: str,
    variants: Mapping[str, Variant],
    tags: tuple[str, ...] = (),
) -> None:
    """Register every variant of one family with the same ``builder`` and family ``tags``."""
    for name, v in variants.items():
        register_model(
            name, task=task, config=v.config, description=v.description, tags=tags + v.tags
        )(builder)


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


def build_from_config(name: str, config: Any) -> nn.Module:
    """Build the registered architecture ``name`` with a complete ``config`` of its type."""
    entry = get_entry(name)
    if type(config) is not type(entry.config):
        raise TypeError(
            f"model {name!r} takes a {type(entry.config).__name__}, got {type(config).__name__}"
        )
    model = entry.builder(config)
    model.model_name = name
    model.config = config
    model.task = entry.task
    return model


def create_model(name: str, **overrides: Any) -> nn.Module:
    """Build the registered model ``name``, with config fields overridden by ``overrides``.

    The returned module carries ``model_name`` and ``config`` attributes, which is what
    :func:`voxguard.models.save_pretrained` writes to ``config.json``.
    """
    return build_from_config(name, resolve_config(name, **overrides))
