"""Shared fixtures: the ``../shared`` folder (skip with a reason when absent) and synthetic audio."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"the shared data folder is absent (expected beside the repository: {SHARED.name}/)")
    return SHARED
