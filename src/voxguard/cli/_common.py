"""Arguments and output helpers shared by the model-running sub-commands (detect, embed, ...)."""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from voxguard.cli._files import finite_float, positive_int


@contextlib.contextmanager
def start_up() -> Iterator[None]:
    """Load models with the garbage collector paused, then freeze what was loaded.

    Importing torch and building a model create about a million long-lived objects; with the
    collector on, Python walks them again and again while they are created (0.3-0.6 s of CPU
    per start measured with the default CM). A command owns its process, so what exists after
    start-up (modules, the model) is frozen (:func:`gc.freeze`): later collections skip it.
    Not for library code: freezing is a whole-process decision.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def add_model_args(p: argparse.ArgumentParser, task: str, prefix: str = "") -> None:
    """``--model/--weights/--random-init/--calibration/--threshold`` for a ``cm`` or ``spk`` model."""
    what = "countermeasure" if task == "cm" else "speaker"
    dash = f"--{prefix}" if prefix else "--"
    p.add_argument(
        f"{dash}model",
        default=None,
        help=f"{what} model: registered name, bundled weights name, weights directory or "
        ".onnx file (default: the bundled default)",
    )
    p.add_argument(
        f"{dash}weights",
        default=None,
        help="weights for a registered name: directory, .safetensors or official .pth",
    )
    p.add_argument(
        f"{dash}calibration", default=None, help="AffineCalibrator JSON (scores -> LLRs)"
    )
    p.add_argument(
        f"{dash}threshold",
        type=finite_float,
        default=None,
        help="decision threshold (on LLRs when calibrated; default 0)",
    )


def add_runtime_args(p: argparse.ArgumentParser) -> None:
    """Backend, device, threads and random-init switches."""
    p.add_argument(
        "--backend",
        choices=["torch", "onnx"],
        default="torch",
        help="inference backend (onnx = ONNX Runtime; exports model.onnx when missing)",
    )
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="intra-op threads (default 1: on a shared CPU more threads in one process cost "
        "more CPU for little gain; `voxguard score --workers N` scales over processes)",
    )
    p.add_argument(
        "--random-init",
        action="store_true",
        help="allow an untrained registered model (testing only: scores are meaningless)",
    )


def _scorer_kwargs(args: argparse.Namespace, prefix: str) -> dict[str, Any]:
    """``from_pretrained`` arguments shared by detectors and verifiers."""
    get = lambda k: getattr(args, f"{prefix}{k}", None)  # noqa: E731
    return {
        "weights": get("weights"),
        "backend": args.backend,
        "calibration": get("calibration"),
        "threshold": get("threshold"),
        "device": args.device,
        "num_threads": args.threads,
        "random_init": args.random_init,
    }


def load_detector(args: argparse.Namespace, prefix: str = "") -> Any:
    """A :class:`SpoofDetector` from parsed arguments (see :func:`start_up`)."""
    extra = {k: getattr(args, k) for k in ("mode", "aggregate") if getattr(args, k, None)}
    with start_up():
        from voxguard.api import SpoofDetector

        return SpoofDetector.from_pretrained(
            getattr(args, f"{prefix}model", None),
            batch_size=getattr(args, "batch_size", None),
            **extra,
            **_scorer_kwargs(args, prefix),
        )


def load_verifier(args: argparse.Namespace, prefix: str = "") -> Any:
    """A :class:`SpeakerVerifier` from parsed arguments (see :func:`start_up`)."""
    with start_up():
        from voxguard.api import SpeakerVerifier

        return SpeakerVerifier.from_pretrained(
            getattr(args, f"{prefix}model", None), **_scorer_kwargs(args, prefix)
        )


def add_progress_arg(p: argparse.ArgumentParser) -> None:
    """``--no-progress``: no progress bar (there is none anyway when stderr is not a terminal)."""
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def progress_bar(args: argparse.Namespace, total: int, unit: str = "file") -> Any:
    """A tqdm bar on stderr over ``total`` items; disabled with ``--no-progress``, when stderr is
    not a terminal (pipes, logs, CI) or for a single item. Use as a context manager; call
    ``bar.update(n)``."""
    from tqdm import tqdm

    quiet = getattr(args, "no_progress", False) or total < 2 or not sys.stderr.isatty()
    return tqdm(total=total, unit=unit, disable=quiet, file=sys.stderr, leave=False)


def report_error(command: str, message: str) -> None:
    """One line on stderr for a file that failed."""
    print(f"voxguard {command}: error: {message}", file=sys.stderr)


def emit(record: dict[str, Any]) -> None:
    """One JSON record per line on stdout."""
    print(json.dumps(record), flush=True)


def expand_inputs(items: list[str]) -> list[str]:
    """Files as given; directories expand to the audio files they hold (sorted, recursive).

    A folder without audio files is an error (not an empty result), and dangling symbolic links
    inside a folder are reported on stderr rather than skipped silently.
    """
    from voxguard.errors import VoxguardError
    from voxguard.inference.executors import AUDIO_EXTENSIONS, list_audio

    out: list[str] = []
    for item in items:
        if not Path(item).is_dir():
            out.append(item)
            continue
        found = list_audio(item)
        for link in sorted(Path(item).rglob("*")):
            if link.is_symlink() and not link.exists() and link.suffix.lower() in AUDIO_EXTENSIONS:
                print(f"warning: {link}: dangling symbolic link (target missing), skipped",
                      file=sys.stderr)
        if not found:
            raise VoxguardError(
                f"{item}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) in this folder; "
                "pass audio files or a folder that holds some"
            )
        out.extend(found)
    return out
