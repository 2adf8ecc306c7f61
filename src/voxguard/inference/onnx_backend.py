"""ONNX Runtime backend: the same API as the torch backend, without torch at inference time.

``SpoofDetector.from_pretrained(..., backend="onnx")`` looks for an exported model next to the
weights (``<weights dir>/model.onnx``, or ``<weights file stem>.onnx`` beside a foreign ``.pth``)
and in the cache (``$VOXGUARD_CACHE/onnx``, default ``~/.cache/voxguard/onnx``). When none is
found, or it is older than the weights, the model is exported once with
:func:`voxguard.export.onnx.export_onnx` (torch is needed for that step only) into the weights
directory when it is writable, else into the cache; nothing is ever written beside a foreign
weights file or inside the package (bundled weights export to the cache). A bare ``.onnx``
path runs with onnxruntime alone, and so does a weights directory whose export is found fresh
(:func:`find_export`): torch is then not imported and the model is not built; its crop and
sample rate come from the directory's ``config.json``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from voxguard.errors import VoxguardError, WeightsError
from voxguard.integrity import sidecar_ok

ONNX_FILE = "model.onnx"


def _require_ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise VoxguardError(
            "backend='onnx' needs onnxruntime: pip install 'voxguard[onnx]'"
        ) from None
    return onnxruntime


class OnnxBackend:
    """Run an exported model with onnxruntime: ``fn(batch (B, T) float32) -> (B, K)``.

    Args:
        path: the ``.onnx`` file (one waveform input with dynamic batch and time axes).
        num_threads: intra-op threads (default: onnxruntime's choice).
    """

    def __init__(self, path: str | Path, num_threads: int | None = None) -> None:
        ort = _require_ort()
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise WeightsError(f"{path}: onnxruntime cannot load this model ({exc})") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            names = [i.name for i in inputs]
            raise WeightsError(f"{path}: expected one waveform input, found {names}")
        self.input_name = inputs[0].name
        self.path = Path(path)
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        out = self.session.run(
            None, {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)}
        )
        return np.asarray(out[0], dtype=np.float32)


def cache_dir() -> Path:
    """Where exports of foreign weights go: ``$VOXGUARD_CACHE`` or ``~/.cache/voxguard``, ``/onnx``."""
    root = os.environ.get("VOXGUARD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "voxguard"
    )
    return Path(root) / "onnx"


#: Bundled weights (``voxguard.models._hub.PRETRAINED_DIR``, found here without importing torch).
PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"


def _candidates(loaded: Any) -> list[Path]:
    """Places to look for / write the export, preferred first."""
    if loaded.weights_path is None:  # random init: keyed by the parameter values
        digest = hashlib.sha256(loaded.name.encode())
        for tensor in loaded.model.state_dict().values():
            digest.update(tensor.detach().cpu().numpy().tobytes())
        return [cache_dir() / f"{loaded.name}-{digest.hexdigest()[:16]}.onnx"]
    return export_candidates(loaded.name, loaded.weights_path)


def export_candidates(name: str, weights: str | Path) -> list[Path]:
    """Where the export of registered model ``name`` with ``weights`` is looked for, best first.

    Needs neither torch nor the model: the cache name is keyed by the model name and the
    weights file's path, size and modification time.
    """
    weights = Path(weights).resolve()
    stat = (weights / "model.safetensors" if weights.is_dir() else weights).stat()
    digest = hashlib.sha256(name.encode())
    digest.update(f"{weights}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    cached = cache_dir() / f"{name}-{digest.hexdigest()[:16]}.onnx"
    if PRETRAINED_DIR.resolve() in weights.parents:  # shipped in the package: never write there
        return [cached]
    if weights.is_dir():  # a voxguard weights directory: model.onnx lives beside the weights
        return [weights / ONNX_FILE, cached]
    return [weights.with_suffix(".onnx"), cached]  # a foreign file: never write beside it


def find_export(name: str, weights: str | Path, onnx_path: str | Path | None = None) -> Path | None:
    """A fresh export of ``name`` with ``weights`` (no older than the weights), or ``None``.

    This is how ``backend='onnx'`` starts without building the torch model: when it finds the
    file, onnxruntime runs it directly.
    """
    candidates = [Path(onnx_path)] if onnx_path else export_candidates(name, weights)
    return next((p for p in candidates if _is_fresh(p, Path(weights))), None)


def _is_fresh(onnx_path: Path, weights: Path | None) -> bool:
    if not sidecar_ok(onnx_path):  # missing, or changed since voxguard exported it: re-export
        return False
    if weights is None:
        return True
    source = weights / "model.safetensors" if weights.is_dir() else weights
    return not source.exists() or onnx_path.stat().st_mtime >= source.stat().st_mtime


def ensure_onnx(
    loaded: Any, onnx_path: str | Path | None = None, example_length: int = 64600
) -> Path:
    """The ONNX file of ``loaded`` (a :class:`voxguard.api._load.Loaded`), exporting if needed.

    Args:
        loaded: the resolved model; a bare ``.onnx`` is returned as is.
        onnx_path: where to read / write the file (default: next to the weights).
        example_length: tracing input length in samples (the graph has a dynamic time axis).
    """
    if loaded.model is None:  # a bare .onnx file, or an export found without building the model
        return Path(loaded.onnx_path or loaded.weights_path)
    from voxguard.export.onnx import export_onnx

    rate = int(loaded.card.get("sample_rate", 16000))
    if onnx_path:
        candidates = [Path(onnx_path)]
    else:
        candidates = _candidates(loaded)
        for path in candidates:
            if _is_fresh(path, loaded.weights_path):
                return path
        weights = loaded.weights_path
        if weights is None or not Path(weights).is_dir() or not os.access(weights, os.W_OK):
            candidates = candidates[-1:]
    path = candidates[0]
    if onnx_path and _is_fresh(path, loaded.weights_path):
        return path
    return export_onnx(loaded.model.eval(), path, example_seconds=example_length / rate)
