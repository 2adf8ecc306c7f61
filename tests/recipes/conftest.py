"""Shared fixtures of the recipe tests: the recipes are scripts, imported from their folder."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def _forget_recipe_modules() -> None:
    """Drop every module loaded from ``recipes/`` from the import cache: recipe folders reuse
    script names (``cm/evaluate.py``, ``speaker/evaluate.py``), so a sibling import must not find
    another folder's module cached under the same name."""
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve().is_relative_to(RECIPES):
            del sys.modules[name]


def _import_recipe(folder: str, name: str) -> ModuleType:
    """``recipes/FOLDER/NAME.py`` as a module (its folder first on ``sys.path`` while it imports,
    as when it is run as a script, so its sibling imports resolve to its own folder)."""
    path = str(RECIPES / folder)
    _forget_recipe_modules()
    sys.path.insert(0, path)
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(path)
        _forget_recipe_modules()  # the returned module keeps its own siblings


@pytest.fixture(scope="session")
def import_recipe():
    return _import_recipe
