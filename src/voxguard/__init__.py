"""voxguard: lightweight, deployment-oriented spoof-aware speaker verification."""

from __future__ import annotations

__version__ = "0.1.0"

from voxguard.errors import (  # noqa: E402
    AudioError,
    ParseError,
    UnknownModelError,
    VoxguardError,
    WeightsError,
)
from voxguard.models import (  # noqa: E402
    create_model,
    list_models,
    load_pretrained,
    save_pretrained,
)

__all__ = [
    "AudioError",
    "ParseError",
    "UnknownModelError",
    "VoxguardError",
    "WeightsError",
    "__version__",
    "create_model",
    "list_models",
    "load_pretrained",
    "save_pretrained",
]
