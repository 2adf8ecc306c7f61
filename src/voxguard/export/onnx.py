"""ONNX export of whole models (waveform or features in, logits or embeddings out) and parity.

The graph has dynamic batch and time axes, so one file serves every input length. Input and
output names follow the model: ``wav`` or ``feats`` in; ``logits`` (CM, index 1 = bona fide),
``embeddings`` (speaker) or ``output`` out. By default the fast TorchScript-based exporter
traces the model; the result is run once more with onnxruntime at another length, and when the
trace froze a shape the model is re-exported with the torch.export-based exporter (needs
``onnxscript``). Models must compute data-dependent sizes (graph pooling's kept-node count)
from tensor shapes so that they follow the runtime length. The file's metadata records the
model name, task, input kind, sample or frame rate, exporter and whether the frontend is inside.

Speaker models (and composed SSL CMs) can be exported without their ``frontend`` child,
wespeaker style: the graph then takes the frontend's features ``(B, T', D)``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from voxguard.errors import VoxguardError
from voxguard.integrity import write_sidecar
from voxguard.profiling.inputs import InputSpec, example_input, input_length, input_spec

DEFAULT_TOLERANCE = 1e-4
_OUTPUT_NAMES = {"cm": "logits", "spk": "embeddings"}


class ExportError(VoxguardError, RuntimeError):
    """A model cannot be exported or checked (missing package, unsupported structure)."""


class _FeaturesIn(nn.Module):
    """Stands in for a frontend: passes features through with the frontend's output structure."""

    def __init__(self, returns_tuple: bool) -> None:
        super().__init__()
        self.returns_tuple = returns_tuple

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> Any:
        return (x, lengths) if self.returns_tuple else x


def strip_frontend(model: nn.Module, probe_seconds: float = 1.0) -> nn.Module:
    """A copy of ``model`` whose ``frontend`` child is replaced by a pass-through.

    The copy takes the features the frontend produced, ``(B, T', D)``; its ``input_kind``,
    ``feature_dim`` and ``frame_rate`` are set from running the frontend on a probe waveform.
    """
    frontend = getattr(model, "frontend", None)
    if not isinstance(frontend, nn.Module):
        raise ExportError(
            f"{getattr(model, 'model_name', type(model).__name__)} has no 'frontend' child; "
            "export it whole (include_frontend=True)"
        )
    spec = input_spec(model)
    if spec.kind != "waveform":
        raise ExportError("only waveform models have a frontend to strip")
    probe = example_input(spec, int(probe_seconds * spec.sample_rate))
    with torch.no_grad():
        out = frontend.eval()(probe)
    feats = out[0] if isinstance(out, tuple) else out
    if feats.dim() != 3:
        raise ExportError(
            f"the frontend returns a {feats.dim()}-D tensor {tuple(feats.shape)}; only (B, T', D) "
            "features can be the input of a frontend-less export (export the whole model)"
        )
    stripped = copy.deepcopy(model)
    stripped.frontend = _FeaturesIn(isinstance(out, tuple))
    stripped.input_kind = "features"
    stripped.feature_dim = int(feats.shape[-1])
    stripped.frame_rate = feats.shape[1] / probe_seconds
    return stripped


def _names(model: nn.Module, spec: InputSpec) -> tuple[str, str]:
    input_name = "wav" if spec.kind == "waveform" else "feats"
    return input_name, _OUTPUT_NAMES.get(getattr(model, "task", ""), "output")


def export_onnx(
    model: nn.Module,
    path: str | Path,
    *,
    example_seconds: float | None = None,
    example_frames: int | None = None,
    opset: int | None = None,
    include_frontend: bool = True,
    dynamic_batch: bool = True,
    exporter: str = "auto",
) -> Path:
    """Export ``model`` (in eval mode) to ONNX with a dynamic time axis.

    Args:
        model: a voxguard model; waveform or feature input (see :mod:`voxguard.profiling.inputs`).
        path: the ``.onnx`` file to write (parent directories are created).
        example_seconds: length of the tracing input (default: 1 s).
        example_frames: length of the tracing input in frames, for feature-input models.
        opset: ONNX opset version (default: the exporter's, 20 with torch 2.13).
        include_frontend: ``False`` exports the network after the ``frontend`` child
            (features in), wespeaker style.
        dynamic_batch: also make the batch axis dynamic.
        exporter: ``"torchscript"`` (fast tracing exporter), ``"dynamo"`` (torch.export-based,
            needs ``onnxscript``) or ``"auto"``: TorchScript, checked with onnxruntime at a
            second length, and re-exported with dynamo when the trace fails (e.g. complex
            ``torch.stft``) or froze a shape (e.g. ``nn.MultiheadAttention`` with different
            query and key lengths).

    Returns:
        The path written.
    """
    if exporter not in ("auto", "torchscript", "dynamo"):
        raise ExportError(f"exporter {exporter!r}: choose 'auto', 'torchscript' or 'dynamo'")
    model.eval()
    if not include_frontend:
        model = strip_frontend(model)
    spec = input_spec(model)
    if example_seconds is None and example_frames is None:
        example_seconds = 1.0
    length = input_length(spec, example_seconds, example_frames)
    x = example_input(spec, length, batch=2)
    names = _names(model, spec)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if exporter == "auto":
        used = _export_auto(model, x, path, names, dynamic_batch, opset, spec, length)
    else:
        used = exporter
        _export(model, x, path, names, dynamic_batch, opset, used)
    _write_metadata(path, model, spec, include_frontend, used)
    write_sidecar(path)  # <path>.sha256: a cached export that no longer matches is not run
    return path


def _export_auto(
    model: nn.Module,
    x: torch.Tensor,
    path: Path,
    names: tuple[str, str],
    dynamic_batch: bool,
    opset: int | None,
    spec: InputSpec,
    length: int,
) -> str:
    """TorchScript first; dynamo when it fails or the trace froze a shape. Returns the exporter."""
    try:
        _export(model, x, path, names, dynamic_batch, opset, "torchscript")
    except ExportError as first:
        try:
            _export(model, x, path, names, dynamic_batch, opset, "dynamo")
        except ExportError as second:
            raise ExportError(f"{first}; retried with the dynamo exporter: {second}") from second
        return "dynamo"
    if _follows_length(model, spec, path, length):
        return "torchscript"
    _export(model, x, path, names, dynamic_batch, opset, "dynamo")
    return "dynamo"


def _export(
    model: nn.Module,
    x: torch.Tensor,
    path: Path,
    names: tuple[str, str],
    dynamic_batch: bool,
    opset: int | None,
    exporter: str,
) -> None:
    input_name, output_name = names
    kwargs: dict[str, Any] = {"input_names": [input_name], "output_names": [output_name]}
    if opset is not None:
        kwargs["opset_version"] = opset
    if exporter == "dynamo":
        _require("onnxscript")
        auto = torch.export.Dim.AUTO
        kwargs["dynamic_shapes"] = ({1: auto, **({0: auto} if dynamic_batch else {})},)
    else:
        axes = {1: "time", **({0: "batch"} if dynamic_batch else {})}
        out_axes = {0: "batch"} if dynamic_batch else {}
        kwargs["dynamic_axes"] = {input_name: axes, output_name: out_axes}
        kwargs["do_constant_folding"] = True
    log = io.StringIO()  # the exporters print progress and optimiser notes; library code must not
    torch_onnx_log = logging.getLogger("torch.onnx")
    level = torch_onnx_log.level
    torch_onnx_log.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            torch.no_grad(),
            _quiet_fds(),  # the TorchScript exporter dumps its whole graph on failure
            contextlib.redirect_stdout(log),
            contextlib.redirect_stderr(log),
        ):
            warnings.simplefilter("ignore")  # TracerWarnings and the legacy-exporter notice
            torch.onnx.export(model, (x,), str(path), dynamo=exporter == "dynamo", **kwargs)
    except Exception as exc:  # the exporters raise many types
        name = getattr(model, "model_name", type(model).__name__)
        raise ExportError(f"ONNX export ({exporter}) of {name} failed: {_summary(exc)}") from exc
    finally:
        torch_onnx_log.setLevel(level)


@contextlib.contextmanager
def _quiet_fds() -> Iterator[None]:
    """Send what C++ code writes to file descriptors 1 and 2 to a temporary file, then restore."""
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:  # no usable descriptors: nothing to silence
        yield
        return
    with tempfile.TemporaryFile() as sink:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            for fd, copy_of_fd in zip((1, 2), saved, strict=True):
                os.dup2(copy_of_fd, fd)
                os.close(copy_of_fd)


def _summary(exc: BaseException) -> str:
    """The first line of an exporter error, plus the user-code line torch.export blames."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = (lines[0] if lines else type(exc).__name__)[:400]
    for i, line in enumerate(lines):
        if line.startswith("The following call raised this error"):
            text += " (" + " ".join(lines[i + 1 : i + 3])[:300] + ")"
            break
        if "Exception summary" in line and i + 1 < len(lines):
            text += " (" + lines[i + 1][:300] + ")"
    return text


def _follows_length(model: nn.Module, spec: InputSpec, path: Path, length: int) -> bool:
    """Whether the exported graph runs and matches PyTorch at another length (batch 1)."""
    ort = _require("onnxruntime")
    x = example_input(spec, max(1, int(length * 1.37)), batch=1, seed=7)
    with torch.no_grad():
        expected = model(x).numpy()
    options = ort.SessionOptions()
    options.log_severity_level = 4  # a frozen shape is expected here: keep ORT's log quiet
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    except Exception:  # onnxruntime raises its own Fail/InvalidArgument types
        return False
    return got.shape == expected.shape and float(np.max(np.abs(got - expected))) <= 1e-3


def _write_metadata(
    path: Path, model: nn.Module, spec: InputSpec, include_frontend: bool, exporter: str
) -> None:
    onnx = _require("onnx")
    proto = onnx.load(str(path))
    meta = {
        "voxguard_model": getattr(model, "model_name", type(model).__name__),
        "task": getattr(model, "task", ""),
        "input_kind": spec.kind,
        "sample_rate": str(spec.sample_rate),
        "includes_frontend": "1" if include_frontend else "0",
        "exporter": exporter,
    }
    if spec.kind == "features":
        meta.update(feature_dim=str(spec.feature_dim), frame_rate=f"{spec.frame_rate:g}")
    if getattr(model, "task", "") == "cm":
        meta["score"] = "logits[:, 1] - logits[:, 0] (higher = bona fide)"
    if include_frontend:
        meta.update(_embedded_config(model))
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))


def _embedded_config(model: nn.Module) -> dict[str, str]:
    """What a bare ``.onnx`` file needs to be scored like its torch model, as metadata.

    ``voxguard_config`` holds what ``config.json`` would (model name, architecture config and
    card: crop length, sample rate, score); ``voxguard_calibration`` the calibration JSON when
    the model has one. Without them a bare export would be run with a guessed crop.
    """
    import dataclasses
    import json

    name = getattr(model, "model_name", None)
    config = getattr(model, "config", None)
    if name is None or not dataclasses.is_dataclass(config):
        return {}
    card = dict(getattr(model, "card", None) or {})
    calibration = card.pop("calibration_file", None)
    for key in ("files", "sha256"):  # hashes of the weights files: not what this file holds
        card.pop(key, None)
    doc = {"model": name, "config": dataclasses.asdict(config), "card": card}
    out = {"voxguard_config": json.dumps(doc, default=str)}
    if calibration and Path(calibration).is_file():
        out["voxguard_calibration"] = Path(calibration).read_text()
    return out


def _require(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise ExportError(
            f"the {module!r} package is needed for ONNX export and checks: "
            "pip install 'voxguard[onnx]'"
        ) from None


def read_metadata(path: str | Path) -> dict[str, str]:
    """The voxguard metadata stored in an exported ``.onnx`` file."""
    ort = _require("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(session.get_modelmeta().custom_metadata_map)


def parity_report(
    model: nn.Module,
    path: str | Path,
    lengths: Sequence[float] = (1.0, 4.0, 7.0),
    *,
    batch: int = 2,
    threads: int | None = None,
) -> dict[float, float]:
    """Max |onnxruntime − PyTorch| of the outputs at each input length (seconds).

    Feature-input graphs convert seconds to frames at their frame rate. Whether the file
    holds the frontend is read from its metadata.
    """
    ort = _require("onnxruntime")
    if not Path(path).is_file():
        raise ExportError(f"{path}: no such ONNX file (create it with export_onnx)")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    model.eval()
    if meta.get("includes_frontend") == "0":
        model = strip_frontend(model)
    spec = input_spec(model)
    input_name = session.get_inputs()[0].name
    report = {}
    for i, seconds in enumerate(lengths):
        x = example_input(spec, input_length(spec, seconds=seconds), batch=batch, seed=i + 1)
        with torch.no_grad():
            expected = model(x).numpy()
        got = session.run(None, {input_name: x.numpy()})[0]
        if got.shape != expected.shape:
            raise ExportError(
                f"{path}: output shape {got.shape} differs from PyTorch's {expected.shape} "
                f"at {seconds:g} s (a shape was frozen at export time)"
            )
        report[float(seconds)] = float(np.max(np.abs(got - expected)))
    return report


def check_parity(
    model: nn.Module,
    path: str | Path,
    lengths: Sequence[float] = (1.0, 4.0, 7.0),
    *,
    batch: int = 2,
) -> float:
    """Largest |onnxruntime − PyTorch| output difference over ``lengths`` (seconds)."""
    return max(parity_report(model, path, lengths, batch=batch).values())
