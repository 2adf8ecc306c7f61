"""Exceptions raised by voxguard. Every message says what went wrong and how to fix it."""

from __future__ import annotations


class VoxguardError(Exception):
    """Base class of all voxguard errors."""


class AudioError(VoxguardError, ValueError):
    """An audio input cannot be used (unreadable, empty, non-finite, ...)."""

    def __init__(self, source: object, problem: str, fix: str = "") -> None:
        self.source = str(source)
        self.problem = problem
        self.fix = fix
        msg = f"{self.source}: {problem}"
        if fix:
            msg += f" ({fix})"
        super().__init__(msg)


class UnknownModelError(VoxguardError, KeyError):
    """A model name is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class WeightsError(VoxguardError, ValueError):
    """Weights cannot be loaded (missing file, wrong keys, checksum mismatch, unsafe format)."""


class ParseError(VoxguardError, ValueError):
    """A protocol, score, key, trial or config file has a malformed line."""

    def __init__(self, path: object, line_no: int, problem: str) -> None:
        self.path = str(path)
        self.line_no = line_no
        super().__init__(f"{path}:{line_no}: {problem}")
