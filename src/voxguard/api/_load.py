"""Resolve ``from_pretrained`` arguments to a model, its card and an inference backend."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxguard.errors import UnknownModelError, VoxguardError, WeightsError
from voxguard.inference.runner import Backend, DitheredBackend, TorchBackend

# Preferred bundled weights per task, best first; the first one present is the default.
DEFAULT_PREFERENCE = {
    # lcnn_triplekok_engine: the networks of lcnn_triplesam_engine with the 32-ms branch retrained
    # on engine-l plus six new Kokoro voices (style mixtures of the train voices), fused
    # 1 x 32-ms + 2.0 x SAM wide-band + 0.05 x phase; below lcnn_triplesam_engine on the declared
    # criterion through the inference path (0.152 vs 0.184; both seeds passed;
    # recipes/cm/README.md, "Twenty-fourth session").
    # lcnn_triplesam_engine: lcnn_spec_engine + 2.0 x a wide-band LCNN trained with SAM + 0.15 x
    # the phase-aware wide-band LCNN; better than lcnn_triple_engine (the same three
    # architectures, the wide-band one trained without SAM) on every term of the declared
    # criterion through the inference path (dev EER + same-corpus validation EER + dev partial
    # spoofs missed: 0.184 vs 0.323; all three SAM seeds passed; recipes/cm/README.md, "SAM");
    # the others stay bundled as alternatives (the Whisper AttM CM attm_whisper_engine, 6.2 MB,
    # is no longer packaged: recipes/cm/README.md rebuilds it)
    "cm": (
        "lcnn_triplekok_engine",
        "lcnn_triplesam_engine",
        "lcnn_triple_engine",
        "lcnn_dual_engine",
        "lcnn_spec_engine",
    ),
    "spk": ("bccmt_tiny_ge2e_kd",),
}
CARD_DEFAULTS = {
    "cm": {
        "score": "logit[1] - logit[0] (bona fide minus spoof logit)",
        "polarity": "higher = bona fide",
    },
    "spk": {
        "score": "cosine similarity of speaker embeddings",
        "polarity": "higher = same speaker (target)",
    },
}


@dataclass
class Loaded:
    """A resolved model: its torch module (``None`` when only an ONNX file is run) and card.

    Attributes:
        config: the architecture fields of the weights directory's ``config.json`` (crop and
            sample rate are read from here when no torch model is built).
        onnx_path: the exported file to run when ``model`` is ``None``.
    """

    name: str
    task: str
    model: Any | None
    card: dict[str, Any] = field(default_factory=dict)
    weights_path: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)
    onnx_path: Path | None = None


def _pretrained_dir() -> Path:
    # voxguard.models._hub.PRETRAINED_DIR, found without importing torch
    return Path(__file__).resolve().parent.parent / "pretrained"


def bundled_dirs() -> dict[str, Path]:
    """Bundled weights directories by directory name."""
    root = _pretrained_dir()
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if (p / "config.json").is_file()}


def default_model(task: str) -> str | None:
    """The name of the default bundled weights for ``task`` (``cm`` or ``spk``), if any."""
    found = bundled_dirs()
    for name in DEFAULT_PREFERENCE.get(task, ()):
        if name in found:
            return name
    from voxguard.models import get_entry
    from voxguard.models._hub import read_config

    for name, path in found.items():
        try:
            if get_entry(read_config(path)["model"]).task == task:
                return name
        except (UnknownModelError, WeightsError):
            continue
    return None


def _load_state(path: Path) -> dict[str, Any]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:
            raise WeightsError(f"{path}: not a readable safetensors file ({exc})") from None
    from voxguard.models import load_torch_checkpoint

    return load_torch_checkpoint(path)


NO_DEFAULT = {
    "cm": "no bundled countermeasure weights; pass a model name with weights= "
    "(e.g. 'aasist' with the official AASIST.pth) or a weights directory",
    "spk": "no bundled speaker-embedding weights; pass a model name with weights= "
    "or a weights directory",
}


def load_model(
    name_or_dir: str | Path | None,
    task: str,
    weights: str | Path | None = None,
    random_init: bool = False,
    **overrides: Any,
) -> Loaded:
    """Build and load a model for ``task``.

    Args:
        name_or_dir: a weights directory, a bundled weights name, a registered model name or a
            Hugging Face Hub repository ``org/name`` holding a weights directory (see
            :mod:`voxguard.api._hf`); ``None`` picks the default bundled weights of ``task``.
        task: ``cm`` or ``spk``; a model of another task is refused.
        weights: with a registered name: a weights directory, a ``.safetensors`` file or an
            official ``.pth`` state dict (loaded with ``strict=True``).
        random_init: allow a registered model with no weights (tests, demos).
        overrides: config fields passed to ``create_model`` / ``load_pretrained``.
    """
    from voxguard.models import create_model, get_entry, load_pretrained
    from voxguard.models._hub import resolve_pretrained_dir

    if name_or_dir is None and weights is not None:  # weights without a model name
        wpath = Path(weights)
        if not wpath.exists():
            raise WeightsError(f"{wpath}: weights file not found")
        if not (wpath.is_dir() or wpath.suffix == ".onnx"):  # a directory names its own model
            raise WeightsError(
                f"{wpath}: a weights file needs the registered model it belongs to (API "
                "name_or_dir=, CLI --model), e.g. --model aasist --weights AASIST.pth"
            )
        name_or_dir, weights = wpath, None
    if name_or_dir is None:
        name_or_dir = default_model(task)
        if name_or_dir is None:
            raise WeightsError(NO_DEFAULT.get(task, f"no bundled weights for task {task!r}"))
    if weights is None and "/" in str(name_or_dir):
        from voxguard.api._hf import hub_snapshot, looks_like_repo_id

        if looks_like_repo_id(str(name_or_dir)):  # "org/name": a weights directory on the Hub
            name_or_dir = hub_snapshot(str(name_or_dir))
    path = Path(str(name_or_dir))
    if path.suffix == ".onnx" and weights is None:
        return _bare_onnx(path, task)
    if weights is not None and Path(weights).suffix == ".onnx":
        return _bare_onnx(Path(weights), task)
    if weights is None and (path.is_dir() or str(name_or_dir) in bundled_dirs()):
        directory = resolve_pretrained_dir(name_or_dir)
        model = load_pretrained(directory, **overrides)
        return _checked(
            Loaded(model.model_name, model.task, model, dict(model.card), directory), task
        )
    entry = get_entry(str(name_or_dir))
    if weights is None:
        if not random_init:
            raise WeightsError(
                f"{name_or_dir}: a registered model without weights; give its weights (API "
                "weights=, CLI --weights: a weights directory, .safetensors or official .pth), "
                "use a bundled model name (`voxguard models` marks them 'pretrained'), or allow an "
                "untrained model (random_init=True, --random-init)"
            )
        model = create_model(entry.name, **overrides)
        card = {"weights": "random initialisation (untrained: scores are meaningless)"}
        return _checked(Loaded(entry.name, entry.task, model, card), task)
    wpath = Path(weights)
    if wpath.is_dir():
        model = load_pretrained(wpath, **overrides)
        if model.model_name != entry.name:
            raise WeightsError(
                f"{wpath}: holds weights of {model.model_name!r}, not {entry.name!r}"
            )
        return _checked(Loaded(entry.name, entry.task, model, dict(model.card), wpath), task)
    if not wpath.is_file():
        raise WeightsError(f"{wpath}: weights file not found")
    model = create_model(entry.name, **overrides)
    try:
        model.load_state_dict(_load_state(wpath), strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{wpath}: weights do not fit {entry.name!r}: {exc}") from None
    card = {"weights": wpath.name}
    return _checked(Loaded(entry.name, entry.task, model.eval(), card, wpath), task)


def load_exported(
    name_or_dir: str | Path | None,
    task: str,
    weights: str | Path | None = None,
    onnx_path: str | Path | None = None,
) -> Loaded | None:
    """A weights directory as its fresh ONNX export, without torch; ``None`` when there is none.

    Only ``config.json`` is read (name, card, crop and sample rate); the task is checked against
    the export's metadata by :func:`check_exported_task` once onnxruntime has opened it. Foreign
    weights files, registered names and stale exports return ``None`` (build, then export).
    """
    if weights is not None:
        return None
    if name_or_dir is None:
        name_or_dir = default_model(task)
        if name_or_dir is None:
            return None
    path = Path(str(name_or_dir))
    directory = path if path.is_dir() else bundled_dirs().get(str(name_or_dir))
    if directory is None or not (directory / "config.json").is_file():
        return None
    try:
        meta = json.loads((directory / "config.json").read_text())
        name = str(meta["model"])
    except (ValueError, KeyError, TypeError):
        return None  # the full loader explains what is wrong with the file
    from voxguard.inference.onnx_backend import find_export

    exported = find_export(name, directory, onnx_path)
    if exported is None:
        return None
    card = dict(meta.get("card") or {})
    if (directory / "calibration.json").is_file():
        from voxguard.integrity import check_bundle_file  # hashed like load_pretrained does

        check_bundle_file(directory, card, "calibration.json")
        card["calibration_file"] = str(directory / "calibration.json")
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    loaded = Loaded(name, task, None, card, directory, config=config, onnx_path=exported)
    return _checked(loaded, task)


def check_exported_task(loaded: Loaded, backend: Backend, task: str) -> None:
    """Refuse an export whose metadata names another task (e.g. a speaker model as a CM)."""
    exported = (getattr(backend, "metadata", None) or {}).get("task")
    if exported:
        loaded.task = exported
        _checked(loaded, task)


def _bare_onnx(path: Path, task: str) -> Loaded:
    """An exported ``.onnx`` file used without torch.

    Its name, architecture config (crop length, sample rate) and card come from the
    ``voxguard_config`` metadata that ``voxguard export`` embeds, else from a ``config.json``
    beside it. With neither the crop would be a guess, so the file is refused.
    """
    from voxguard.models import get_entry

    if not path.is_file():
        raise WeightsError(f"{path}: ONNX file not found")
    meta, calibration = _exported_config(path)
    name, card = str(meta["model"]), dict(meta.get("card") or {})
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    if calibration is not None:
        card["calibration_file"] = str(calibration)
    model_task = task
    try:
        model_task = get_entry(name).task
    except UnknownModelError:
        pass
    return _checked(Loaded(name, model_task, None, card, path, config=config), task)


def _onnx_metadata(path: Path) -> dict[str, str]:
    """The metadata_props of an ``.onnx`` file (read with onnx when installed, else onnxruntime)."""
    try:
        import onnx

        proto = onnx.load(str(path), load_external_data=False)
        return {p.key: p.value for p in proto.metadata_props}
    except ImportError:
        pass
    except Exception as exc:  # a truncated or foreign file
        raise WeightsError(f"{path}: not a readable ONNX file ({exc})") from None
    try:
        import onnxruntime as ort
    except ImportError:
        raise WeightsError(
            f"{path}: running an ONNX file needs onnxruntime: pip install 'voxguard[onnx]'"
        ) from None
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise WeightsError(f"{path}: onnxruntime cannot load this model ({exc})") from None
    return dict(session.get_modelmeta().custom_metadata_map)


def _exported_config(path: Path) -> tuple[dict[str, Any], Path | None]:
    """``config.json`` contents of a bare export and its calibration file, if any."""
    import hashlib

    embedded = _onnx_metadata(path)
    if "voxguard_config" in embedded:
        try:
            meta = json.loads(embedded["voxguard_config"])
        except ValueError:
            meta = None
        if not isinstance(meta, dict) or "model" not in meta:
            raise WeightsError(f"{path}: its voxguard_config metadata is not valid; re-export it")
        text = embedded.get("voxguard_calibration")
        if text is None:
            return meta, None
        from voxguard.inference.onnx_backend import cache_dir

        # the calibration travels inside the (sha256-sidecar-checked) export; cache it by hash
        target = cache_dir() / f"calibration-{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        return meta, target
    if (path.parent / "config.json").is_file():
        from voxguard.integrity import check_bundle_file
        from voxguard.models._hub import read_config

        meta = read_config(path.parent)
        card = dict(meta.get("card") or {})
        if (path.parent / "calibration.json").is_file():
            check_bundle_file(path.parent, card, "calibration.json")
            return meta, path.parent / "calibration.json"
        return meta, None
    raise WeightsError(
        f"{path}: an ONNX file without voxguard_config metadata and without a config.json beside "
        "it; its crop length and sample rate are unknown and voxguard will not guess them. "
        "Re-export it with `voxguard export MODEL --out FILE.onnx` (which embeds them), or put "
        "the weights directory's config.json beside it"
    )


def _checked(loaded: Loaded, task: str) -> Loaded:
    if loaded.task != task:
        kind = {"cm": "countermeasure", "spk": "speaker-embedding"}.get(task, task)
        raise WeightsError(
            f"{loaded.name!r} is a {loaded.task} model, not a {kind} model "
            f"(list them with `voxguard models --task {task}`)"
        )
    loaded.card = {**CARD_DEFAULTS.get(task, {}), **loaded.card}
    return loaded


def crop_length(loaded: Loaded, default: int) -> int:
    """The model's input crop length in samples (card ``crop_samples``, config ``nb_samp``)."""
    for key in ("crop_samples", "crop", "nb_samp"):
        value = loaded.card.get(key)
        if isinstance(value, int) and value > 0:
            return value
    value = loaded.config.get("nb_samp")
    if value is None:
        value = getattr(getattr(loaded.model, "config", None), "nb_samp", None)
    return int(value) if isinstance(value, int) and value > 0 else default


def hop_length(loaded: Loaded, length: int) -> int:
    """The window hop in samples: the card's ``hop_samples`` (a bundle may overlap its windows, so
    that a short spoofed segment lies wholly inside some window), else ``length`` (no overlap)."""
    value = loaded.card.get("hop_samples")
    return value if isinstance(value, int) and 0 < value <= length else length


def batch_size_of(loaded: Loaded, default: int = 16) -> int:
    """Windows per forward pass: the card's ``batch_size`` (a bundle whose activations per window
    are large names a small one: memory of a long input is one batch's activations), else
    ``default``."""
    value = loaded.card.get("batch_size")
    return value if isinstance(value, int) and value > 0 else default


def sample_rate_of(loaded: Loaded, default: int = 16000) -> int:
    """The model's sample rate (card, then config, then ``default``)."""
    value = (
        loaded.card.get("sample_rate")
        or loaded.config.get("sample_rate")
        or getattr(getattr(loaded.model, "config", None), "sample_rate", None)
    )
    return int(value) if value else default


def make_backend(
    loaded: Loaded,
    backend: str,
    device: str = "cpu",
    num_threads: int | None = None,
    onnx_path: str | Path | None = None,
    example_length: int = 64600,
) -> Backend:
    """A numpy backend (``torch`` or ``onnx``) for ``loaded``, behind the card's dither if it
    names one (:func:`dither_of`)."""
    fn = _network_backend(loaded, backend, device, num_threads, onnx_path, example_length)
    level = dither_of(loaded)
    return fn if level is None else DitheredBackend(fn, level)


def dither_of(loaded: Loaded) -> float | None:
    """The card's ``dither_dbfs`` (RMS of the noise floor added to every input, dB full scale),
    or ``None`` (no dither)."""
    value = loaded.card.get("dither_dbfs")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not -120.0 <= value <= 0.0:
        raise WeightsError(
            f"{loaded.name}: card dither_dbfs must be a number in [-120, 0], got {value!r}"
        )
    return float(value)


def _network_backend(
    loaded: Loaded,
    backend: str,
    device: str,
    num_threads: int | None,
    onnx_path: str | Path | None,
    example_length: int,
) -> Backend:
    if backend == "torch":
        if loaded.model is None:
            raise WeightsError(f"{loaded.name}: only an ONNX file was given; use backend='onnx'")
        import torch

        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError):
            raise VoxguardError(
                f"device {device!r} is not a torch device; use cpu, or cuda / cuda:N with a GPU"
            ) from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise VoxguardError(f"device {device!r}: this machine has no CUDA GPU; use cpu")
        if num_threads:
            torch.set_num_threads(num_threads)
        return TorchBackend(loaded.model, device)
    if backend == "onnx":
        from voxguard.inference.onnx_backend import OnnxBackend, ensure_onnx

        path = ensure_onnx(loaded, onnx_path, example_length)
        return OnnxBackend(path, num_threads=num_threads)
    raise ValueError(f"backend must be 'torch' or 'onnx', got {backend!r}")
