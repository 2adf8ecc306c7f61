"""Model zoo: every module under ``models.cm``, ``models.spk`` and ``models.sasv`` registers its
variants on import (see :mod:`voxguard.models._registry`)."""

from __future__ import annotations

import importlib
import pkgutil

from voxguard.models._hub import load_pretrained, load_torch_checkpoint, save_pretrained
from voxguard.models._registry import (
    Variant,
    build_from_config,
    create_model,
    get_entry,
    list_models,
    register_model,
    register_variants,
    resolve_config,
)

__all__ = [
    "Variant",
    "build_from_config",
    "create_model",
    "get_entry",
    "list_models",
    "load_pretrained",
    "load_torch_checkpoint",
    "register_model",
    "register_variants",
    "resolve_config",
    "save_pretrained",
]


def _import_model_modules() -> None:
    for sub in ("cm", "spk", "sasv"):
        package = importlib.import_module(f"{__name__}.{sub}")
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{package.__name__}.{info.name}")
    importlib.import_module(f"{__name__}.debug")


_import_model_modules()
