"""Shared fixtures of the recipe tests: the recipes are scripts, imported from their folder."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def _import_recipe(folder: str, name: str) -> ModuleType:
    """``recipes/FOLDER/NAME.py`` as a module (its folder on ``sys.path`` while it imports, as
    when it is run as a script, so its sibling imports resolve)."""
    path = str(RECIPES / folder)
    sys.path.insert(0, path)
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(path)


@pytest.fixture(scope="session")
def import_recipe():
    return _import_recipe
