"""voxguard: lightweight, deployment-oriented spoof-aware speaker verification.

Heavy parts (torch models, the API) load lazily, so ``import voxguard.metrics`` stays numpy-only.
"""

from __future__ import annotations

import importlib
from typing import Any

from voxguard.errors import (
    AudioError,
    ParseError,
    UnknownModelError,
    VoxguardError,
    WeightsError,
)

__version__ = "0.1.0"

_LAZY = {
    "create_model": "voxguard.models",
    "list_models": "voxguard.models",
    "load_pretrained": "voxguard.models",
    "save_pretrained": "voxguard.models",
    "SpoofDetector": "voxguard.api",
    "SpeakerVerifier": "voxguard.api",
    "SASVSystem": "voxguard.api",
}

__all__ = [
    "AudioError",
    "ParseError",
    "UnknownModelError",
    "VoxguardError",
    "WeightsError",
    "__version__",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'voxguard' has no attribute {name!r}")
