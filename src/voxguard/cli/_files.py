"""Checks of file arguments, run before any work: each bad path gives one line naming it and
the fix (a :class:`~voxguard.errors.VoxguardError`), never a traceback after minutes of work."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from voxguard.errors import VoxguardError


def input_file(path: str | os.PathLike, what: str = "input") -> Path:
    """An existing, readable regular file."""
    p = Path(path)
    if p.is_symlink() and not p.exists():
        raise VoxguardError(f"{p}: dangling symbolic link (its target is missing); fix the link")
    if not p.exists():
        raise VoxguardError(f"{p}: {what} file not found; check the path")
    if p.is_dir():
        raise VoxguardError(f"{p}: is a folder; pass the {what} file")
    if not os.access(p, os.R_OK):
        raise VoxguardError(f"{p}: {what} file is not readable; check its permissions")
    return p


def output_file(path: str | os.PathLike, what: str = "output") -> Path:
    """A file path that can be written: not a folder, in an existing writable folder."""
    p = Path(path)
    if p.is_dir():
        raise VoxguardError(f"{p}: is a folder; pass a file name for the {what}")
    parent = p.parent
    if not parent.is_dir():
        raise VoxguardError(
            f"{p}: cannot write the {what}: folder {parent} does not exist; create it first"
        )
    if not os.access(parent, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise VoxguardError(f"{p}: cannot write the {what} (permission denied); pick another path")
    return p


def output_dir(path: str | os.PathLike, what: str = "output") -> Path:
    """A folder that exists (created if needed) and can be written."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise VoxguardError(f"{p}: is a file; pass a folder for the {what}")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VoxguardError(
            f"{p}: cannot create the {what} folder ({exc.strerror}); pick another path"
        ) from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise VoxguardError(f"{p}: cannot write into the {what} folder (permission denied)")
    return p


def probability(text: str) -> float:
    """argparse type: a finite number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise argparse.ArgumentTypeError(f"{text} is not a probability strictly between 0 and 1")
    return value


def _number(text: str, kind: type) -> float:
    try:
        value = kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number")
    return value


def finite_float(text: str) -> float:
    """argparse type: a finite number (decision thresholds: a NaN would decide nothing)."""
    return _number(text, float)


def positive_float(text: str) -> float:
    """argparse type: a finite number above 0 (durations, rates, sizes)."""
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be above 0")
    return value


def nonnegative_float(text: str) -> float:
    """argparse type: a finite number of 0 or more (a penalty weight)."""
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 or more")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number of 1 or more (threads, batch sizes, workers, repeats)."""
    value = int(_number(text, int))
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be 1 or more")
    return value


def nonnegative_int(text: str) -> int:
    """argparse type: a whole number of 0 or more."""
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 or more")
    return value


def aggregate(text: str) -> str:
    """argparse type: a window aggregation ``min``, ``mean`` or a percentile ``p<q>``."""
    from voxguard.inference.aggregate import check_aggregate

    try:
        return check_aggregate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def tcp_port(text: str) -> int:
    """argparse type: a TCP port, 1-65535."""
    value = int(_number(text, int))
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a TCP port (1-65535)")
    return value
