"""``voxguard export MODEL --out model.onnx``: ONNX export with an onnxruntime parity check.

The graph has dynamic batch and time axes. After export the outputs of onnxruntime and
PyTorch are compared at each ``--check-lengths`` duration (seconds); the command fails (exit
status 1) when a difference exceeds ``--tolerance``. Without weights the model is exported
with random initialisation (fine for benchmarks, meaningless scores).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from voxguard.cli._files import positive_float, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a model to ONNX and check parity with onnxruntime",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="registered model name, bundled weights name or weights directory")
    p.add_argument("--out", required=True, help="the .onnx file to write")
    p.add_argument(
        "--weights", help="weights for a registered name: directory, .safetensors or official .pth"
    )
    p.add_argument(
        "--check-lengths",
        default="1,4,7",
        help="comma-separated durations in seconds for the parity check (default 1,4,7)",
    )
    p.add_argument("--no-check", action="store_true", help="skip the onnxruntime parity check")
    p.add_argument(
        "--tolerance", type=positive_float, default=1e-4, help="max |ORT - torch| (default 1e-4)"
    )
    p.add_argument(
        "--opset", type=positive_int, help="ONNX opset version (default: the exporter's)"
    )
    p.add_argument(
        "--exporter",
        choices=["auto", "torchscript", "dynamo"],
        default="auto",
        help="auto (default): TorchScript, re-exported with dynamo if the trace froze a shape",
    )
    p.add_argument(
        "--no-frontend",
        action="store_true",
        help="export the network after the frontend (features in), wespeaker style",
    )
    p.add_argument(
        "--example-seconds", type=positive_float, default=1.0, help="tracing input length"
    )
    p.set_defaults(func=run)


def _parse_lengths(text: str) -> list[float]:
    from voxguard.errors import VoxguardError

    try:
        lengths = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise VoxguardError(
            f"--check-lengths {text!r}: expected comma-separated seconds such as 1,4,7"
        ) from None
    if not lengths or min(lengths) <= 0:
        raise VoxguardError(f"--check-lengths {text!r}: give one or more positive durations")
    return lengths


def _load(model: str, weights: str | None) -> Any:
    """The torch model for ``model`` (+ ``weights``), random init when no weights are given."""
    from voxguard.api._load import bundled_dirs, load_model
    from voxguard.errors import VoxguardError
    from voxguard.models import get_entry
    from voxguard.models._hub import read_config, resolve_pretrained_dir

    if weights is None and (Path(model).is_dir() or model in bundled_dirs()):
        name = read_config(resolve_pretrained_dir(model))["model"]
    else:
        name = model
    if Path(name).suffix == ".onnx":
        raise VoxguardError(
            f"{model}: already an ONNX file; give a model name or weights directory"
        )
    task = get_entry(name).task
    return load_model(model, task, weights=weights, random_init=True).model


def run(args: argparse.Namespace) -> int:
    from voxguard.export.onnx import export_onnx, parity_report, read_metadata

    lengths = [] if args.no_check else _parse_lengths(args.check_lengths)
    model = _load(args.model, args.weights)
    if args.weights is None and not getattr(model, "card", None):
        print("note: no weights given, exporting a randomly initialised model", file=sys.stderr)
    path = export_onnx(
        model,
        args.out,
        example_seconds=args.example_seconds,
        opset=args.opset,
        exporter=args.exporter,
        include_frontend=not args.no_frontend,
    )
    print(f"wrote {path} (exporter: {read_metadata(path).get('exporter', '?')})")
    if not lengths:
        return 0
    report = parity_report(model, path, lengths)
    worst = max(report.values())
    for seconds, diff in report.items():
        status = "ok" if diff <= args.tolerance else "FAIL"
        print(f"parity {seconds:g} s: max |onnxruntime - torch| = {diff:.3e} {status}")
    if worst > args.tolerance:
        print(f"parity check failed: {worst:.3e} > tolerance {args.tolerance:g}", file=sys.stderr)
        return 1
    return 0
