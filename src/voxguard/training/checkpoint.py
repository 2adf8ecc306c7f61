"""Checkpoints and run records.

A run directory holds, next to its checkpoints, everything needed to know what produced them:
``config.yaml`` (the resolved config), ``versions.json`` (voxguard, torch, numpy, python, git
commit) and ``data_manifest.jsonl`` (every utterance of every split used). Per epoch it writes
``checkpoints/epoch_NNN.safetensors`` (model weights) with a ``.json`` sidecar of metrics, and
``last.pt`` (model + optimiser + scheduler + history) for resuming; ``last.pt`` holds only
tensors and plain containers and is read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import platform
import subprocess
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from voxguard.data.manifest import Utterance, write_manifest
from voxguard.training.config import TrainConfig, dump_config

CKPT_DIR = "checkpoints"
RESUME_FILE = "last.pt"


def versions() -> dict[str, str | None]:
    """Versions of the software that produced a run (the git commit when run from a checkout)."""
    import voxguard

    commit = None
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(voxguard.__file__).parent,
            check=False,
        )
        commit = proc.stdout.strip() or None if proc.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "voxguard": voxguard.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": commit,
    }


def write_run_info(
    run_dir: str | PathLike, cfg: TrainConfig, splits: dict[str, list[Utterance]]
) -> Path:
    """Write ``config.yaml``, ``versions.json`` and ``data_manifest.jsonl`` into ``run_dir``."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    dump_config(cfg, run_dir / "config.yaml")
    (run_dir / "versions.json").write_text(json.dumps(versions(), indent=1) + "\n")
    records = []
    for split, recs in splits.items():
        for r in recs:
            d = r.to_dict()
            d["split"] = split
            records.append(Utterance.from_dict(d))
    write_manifest(records, run_dir / "data_manifest.jsonl")
    return run_dir


def checkpoint_path(run_dir: str | PathLike, epoch: int) -> Path:
    """``RUN/checkpoints/epoch_NNN.safetensors``."""
    return Path(run_dir) / CKPT_DIR / f"epoch_{epoch:03d}.safetensors"


def save_epoch(
    run_dir: str | PathLike, epoch: int, model: torch.nn.Module, metrics: dict[str, Any]
) -> Path:
    """Save the model weights of ``epoch`` and their metrics sidecar."""
    path = checkpoint_path(run_dir, epoch)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={"epoch": str(epoch)})
    path.with_suffix(".json").write_text(json.dumps({"epoch": epoch, **metrics}) + "\n")
    return path


def rank_checkpoints(run_dir: str | PathLike) -> list[tuple[Path, dict[str, Any]]]:
    """Saved checkpoints, best first: lowest dev EER, then lowest dev loss, then latest epoch."""
    items = []
    for meta_path in sorted((Path(run_dir) / CKPT_DIR).glob("epoch_*.json")):
        meta = json.loads(meta_path.read_text())
        weights = meta_path.with_suffix(".safetensors")
        if weights.is_file():
            items.append((weights, meta))

    def key(item: tuple[Path, dict[str, Any]]) -> tuple[float, float, int]:
        m = item[1]
        inf = float("inf")
        return (
            m.get("dev_eer", inf) if m.get("dev_eer") is not None else inf,
            m.get("dev_loss", inf) if m.get("dev_loss") is not None else inf,
            -m["epoch"],
        )

    return sorted(items, key=key)


def prune_checkpoints(run_dir: str | PathLike, keep: int) -> None:
    """Delete all but the ``keep`` best checkpoints."""
    for weights, _ in rank_checkpoints(run_dir)[keep:]:
        weights.unlink(missing_ok=True)
        weights.with_suffix(".json").unlink(missing_ok=True)


def average_state_dicts(paths: list[Path]) -> dict[str, torch.Tensor]:
    """Element-wise mean of the float tensors of several checkpoints (integer buffers: the first's)."""
    if not paths:
        raise ValueError("no checkpoints to average")
    states = [load_file(str(p)) for p in paths]
    out = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            out[key] = torch.stack([s[key].float() for s in states]).mean(0).to(first.dtype)
        else:
            out[key] = first
    return out


def save_resume(run_dir: str | PathLike, state: dict[str, Any]) -> Path:
    """Write the resume state atomically (``last.pt``)."""
    path = Path(run_dir) / RESUME_FILE
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    return path


def load_resume(run_dir: str | PathLike) -> dict[str, Any] | None:
    """The resume state of ``run_dir`` or ``None`` when there is none."""
    path = Path(run_dir) / RESUME_FILE
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=True)
