"""voxguard.metrics must stay importable without torch: no module in it imports torch."""

from __future__ import annotations

import ast
from pathlib import Path

import voxguard.metrics

ALLOWED = {"__future__", "dataclasses", "math", "numpy", "scipy", "voxguard"}


def test_metrics_import_only_numpy():
    for path in Path(voxguard.metrics.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                root = name.split(".")[0]
                assert root in ALLOWED, f"{path.name} imports {name}"
                if root == "voxguard":
                    assert name.startswith("voxguard.metrics"), f"{path.name} imports {name}"
