"""Model export: ONNX graphs with dynamic batch/time axes and onnxruntime parity checks.

``onnx``/``onnxruntime`` (the ``[onnx]`` extra) are imported only when exporting or checking.
"""

from __future__ import annotations

from voxguard.export.onnx import (
    ExportError,
    check_parity,
    export_onnx,
    parity_report,
    read_metadata,
    strip_frontend,
)

__all__ = [
    "ExportError",
    "check_parity",
    "export_onnx",
    "parity_report",
    "read_metadata",
    "strip_frontend",
]
