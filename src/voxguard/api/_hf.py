"""Weights directories published on the Hugging Face Hub: ``from_pretrained("org/name")``.

A Hub repository holding a voxguard weights directory (``config.json`` + ``model.safetensors``,
optionally ``calibration.json``) is resolved through ``huggingface_hub``'s cache (``$HF_HUB_CACHE``,
default ``~/.cache/huggingface/hub``): a cached snapshot is used without the network; an uncached
one is downloaded once, unless ``HF_HUB_OFFLINE=1``. The snapshot is then loaded like any weights
directory, so its card's sha256 checks apply. ``huggingface_hub`` is imported only here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from voxguard.errors import WeightsError

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}$")


def looks_like_repo_id(name: str) -> bool:
    """``org/name`` that is not an existing path (a Hub repository id)."""
    return bool(_REPO_ID.match(name)) and not Path(name).exists() and ".." not in name


def hub_snapshot(repo_id: str) -> Path:
    """The local snapshot folder of ``repo_id`` (cached, else downloaded unless offline).

    Raises:
        WeightsError: ``huggingface_hub`` is not installed, or the repository is not cached and
            cannot be downloaded (offline, unknown repository, no network).
    """
    try:
        import huggingface_hub
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:
        raise WeightsError(
            f"{repo_id}: looks like a Hugging Face Hub repository, and reading one needs "
            "huggingface_hub (pip install huggingface_hub); or pass a local weights directory"
        ) from None
    cache = os.environ.get("HF_HUB_CACHE") or None  # read now, not at import time
    try:
        return Path(
            huggingface_hub.snapshot_download(repo_id, cache_dir=cache, local_files_only=True)
        )
    except LocalEntryNotFoundError:
        pass
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    if offline:
        raise WeightsError(
            f"{repo_id}: not in the Hugging Face cache ({cache or 'the default cache'}) and "
            "HF_HUB_OFFLINE is set; download it once with `hf download "
            f"{repo_id}` on a connected machine, or pass a local weights directory"
        )
    try:
        return Path(huggingface_hub.snapshot_download(repo_id, cache_dir=cache))
    except Exception as exc:  # network, authentication or an unknown repository
        raise WeightsError(
            f"{repo_id}: neither a local path, a bundled or registered model, nor a Hugging Face "
            f"repository that could be downloaded ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
