"""Shared helpers of the protocol readers: line splitting and key validation."""

from __future__ import annotations

from collections.abc import Iterator
from os import PathLike
from pathlib import Path

from voxguard.data.manifest import LABELS, DataFileNotFound
from voxguard.errors import ParseError


def open_protocol(path: str | PathLike, what: str) -> Path:
    """Check that a protocol file exists and return it as a Path."""
    path = Path(path)
    if not path.is_file():
        raise DataFileNotFound(f"{what} not found: {path} (check the corpus root or the file path)")
    return path


def split_lines(
    path: Path, min_cols: int, max_cols: int | None = None
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_no, columns)`` of whitespace-separated non-empty lines, checking the count."""
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            cols = line.split()
            if not cols:
                continue
            if len(cols) < min_cols or (max_cols is not None and len(cols) > max_cols):
                want = f"{min_cols}" if max_cols == min_cols else f"{min_cols}..{max_cols or 'any'}"
                raise ParseError(
                    path, line_no, f"expected {want} columns, got {len(cols)}: {line.strip()!r}"
                )
            yield line_no, cols


def check_key(path: Path, line_no: int, key: str, aliases: dict[str, str] | None = None) -> str:
    """Normalise a key column to ``bonafide`` / ``spoof`` or raise a ParseError."""
    key = (aliases or {}).get(key, key)
    if key not in LABELS:
        raise ParseError(path, line_no, f"key must be 'bonafide' or 'spoof', got {key!r}")
    return key
