"""The dependency flow is one way: audio -> frontends -> models -> scoring / metrics ->
inference -> api -> cli / serving. No module imports a layer above its own, not even inside a
function (an import there is a cycle that only shows at run time)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import voxguard

PACKAGE = Path(voxguard.__file__).parent
TOP = ("voxguard.api", "voxguard.cli", "voxguard.serving")

# what each top layer may import of the other top layers (everything below is allowed)
ALLOWED_ABOVE = {
    "api": (),
    "serving": ("voxguard.api",),
    "cli": TOP,  # the commands sit on everything
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports (module level, in functions, or by ``import_module``)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            out += [(node.lineno, base)] + [(node.lineno, f"{base}.{a.name}") for a in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            out.append((node.lineno, node.args[0].value))
    return out


def _violations() -> list[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        layer = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        allowed = ALLOWED_ABOVE.get(layer, ())
        for line, name in _imports(path):
            for top in TOP:
                own = top == f"voxguard.{layer}"
                if (name == top or name.startswith(top + ".")) and not own and top not in allowed:
                    bad.append(f"{path.relative_to(PACKAGE)}:{line} imports {name}")
    return bad


def test_no_module_imports_a_layer_above_it():
    assert _violations() == []


def test_the_check_sees_a_function_level_import(tmp_path, monkeypatch):
    """The scan finds the import that caused the api <-> inference cycle (inside a function)."""
    fake = tmp_path / "voxguard"
    (fake / "inference").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "inference" / "executors.py").write_text(
        "def _detector():\n    from voxguard.api import SpoofDetector\n"
    )
    (fake / "inference" / "relative.py").write_text("def f():\n    from ..api import detector\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert _violations() == [
        "inference/executors.py:2 imports voxguard.api",
        "inference/executors.py:2 imports voxguard.api.SpoofDetector",
        "inference/relative.py:2 imports voxguard.api",
        "inference/relative.py:2 imports voxguard.api.detector",
    ]


def test_inference_imports_and_runs_without_the_api():
    """Every inference module imports, and the executors score, with ``voxguard.api`` blocked."""
    code = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        sys.modules["voxguard.api"] = None  # any import of it now raises ImportError
        import voxguard.inference
        for m in pkgutil.iter_modules(voxguard.inference.__path__):
            importlib.import_module(f"voxguard.inference.{m.name}")
        from voxguard.inference.executors import score_files
        from voxguard.inference.results import Detection

        class Fake:
            def __init__(self, bias):
                self.bias = bias

            def score_files(self, paths, progress=None):
                return [Detection(p, float(len(p)) + self.bias) for p in paths]

        out = score_files(Fake, {"bias": 0.5}, ["a", "bb"])
        assert [d.score for d in out] == [1.5, 2.5], out
        loaded = sorted(m for m in sys.modules if m.startswith(("voxguard.cli", "voxguard.serving")))
        assert not loaded, loaded
        print("ok")
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]


def test_public_names_still_resolve():
    from voxguard.api import Detection as ApiDetection
    from voxguard.api.detector import Segment as ApiSegment
    from voxguard.inference.results import Detection, Segment

    assert ApiDetection is Detection and ApiSegment is Segment
