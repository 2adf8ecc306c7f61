"""Typed utterance manifests, read and written as JSON Lines.

One :class:`Utterance` per audio file: id, path, speaker, label (``bonafide`` / ``spoof``),
attack id, channel codec, duration, split and free-form ``extra`` fields. Relative paths are
resolved against the manifest's folder (or an explicit ``root``), so a benchmark folder can be
moved as a whole. ``label`` is required: a missing label never silently means bona fide; a
manifest of real speech only (such as the shared ``manifest.jsonl``, which has no labels) is
read with ``read_manifest(path, default_label="bonafide")``, saying so where it is read.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from voxguard.errors import ParseError, VoxguardError

BONAFIDE = "bonafide"
SPOOF = "spoof"
LABELS = (BONAFIDE, SPOOF)
NO_ATTACK = "-"
NO_CODEC = "-"


class DataFileNotFound(VoxguardError, FileNotFoundError):
    """A manifest, protocol or corpus folder does not exist."""


@dataclass
class Utterance:
    """One utterance of a corpus.

    Attributes:
        utt: unique utterance id (the file stem in ASVspoof corpora).
        path: audio path, absolute or relative to the manifest's folder.
        speaker: speaker id (for spoofs: the targeted speaker).
        label: ``"bonafide"`` or ``"spoof"``; required, keyword-only.
        attack: attack / system id (``"-"`` for bona fide).
        codec: channel condition applied to the audio (``"-"`` for none).
        duration: seconds, if known.
        sample_rate: Hz, if known.
        split: ``train`` / ``dev`` / ``eval`` / ... if known.
        corpus: corpus name, if known.
        text: transcript, if known.
        extra: any other fields (kept on round trip).
    """

    utt: str
    path: str
    speaker: str = "-"
    label: str = field(kw_only=True)
    attack: str = NO_ATTACK
    codec: str = NO_CODEC
    duration: float | None = None
    sample_rate: int | None = None
    split: str | None = None
    corpus: str | None = None
    text: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(
                f"utterance {self.utt!r}: label must be one of {LABELS}, got {self.label!r}"
            )

    @property
    def is_bonafide(self) -> bool:
        """True for bona fide (real human) speech."""
        return self.label == BONAFIDE

    @property
    def target(self) -> int:
        """Class index: 1 = bona fide, 0 = spoof (the voxguard logit convention)."""
        return 1 if self.label == BONAFIDE else 0

    def resolve(self, root: str | PathLike | None) -> Path:
        """Absolute audio path: ``path`` joined to ``root`` when relative."""
        p = Path(self.path)
        return p if p.is_absolute() or root is None else Path(root) / p

    def to_dict(self) -> dict[str, Any]:
        """A flat JSON-able dict (``extra`` merged in, ``None`` fields dropped)."""
        out = {k: v for k, v in dataclasses.asdict(self).items() if k != "extra" and v is not None}
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Utterance:
        """Build from a dict; unknown keys go to ``extra``."""
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names}
        extra.update(data.get("extra", {}) or {})
        return cls(**known, extra=extra)


def read_manifest(path: str | PathLike, default_label: str | None = None) -> list[Utterance]:
    """Read a JSONL manifest.

    Args:
        path: the ``.jsonl`` file.
        default_label: label of lines that have none (e.g. ``"bonafide"`` for a corpus of real
            speech); None: such a line is an error.

    Raises:
        ParseError: a line is not a JSON object with at least ``utt`` and ``path`` (and
            ``label`` unless ``default_label`` is given).
        DataFileNotFound: the manifest does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileNotFound(
            f"manifest not found: {path} (create one with `voxguard data manifest`)"
        )
    try:
        return _read_manifest_lines(path, default_label)
    except UnicodeDecodeError as exc:  # decoded in blocks: the byte offset, not a line number
        raise VoxguardError(
            f"{path}: not UTF-8 text ({exc.reason} near byte {exc.start}); save it as UTF-8"
        ) from None


def _read_manifest_lines(path: Path, default_label: str | None) -> list[Utterance]:
    records: list[Utterance] = []
    with path.open(encoding="utf-8-sig") as fh:  # a byte-order mark is not part of line 1
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ParseError(path, line_no, f"not valid JSON ({exc.msg})") from None
            if not isinstance(data, dict) or "utt" not in data or "path" not in data:
                raise ParseError(
                    path, line_no, "expected a JSON object with at least 'utt' and 'path'"
                )
            if "label" not in data:
                if default_label is None:
                    raise ParseError(
                        path,
                        line_no,
                        "no 'label' (bonafide / spoof); for a manifest of real speech only, "
                        "read it with default_label='bonafide'",
                    )
                data = {**data, "label": default_label}
            try:
                records.append(Utterance.from_dict(data))
            except (TypeError, ValueError) as exc:
                raise ParseError(path, line_no, str(exc)) from None
    return records


def write_manifest(records: Iterable[Utterance], path: str | PathLike) -> Path:
    """Write ``records`` as JSONL (atomically: a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec.to_dict(), ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def summarize(records: Iterable[Utterance]) -> dict[str, Any]:
    """Counts per split, label, attack and codec (for logs and ``voxguard data manifest``)."""
    out: dict[str, Any] = {
        "utterances": 0,
        "speakers": 0,
        "split": {},
        "label": {},
        "attack": {},
        "codec": {},
    }
    speakers = set()
    for r in records:
        out["utterances"] += 1
        speakers.add(r.speaker)
        for key, value in (
            ("split", r.split or "-"),
            ("label", r.label),
            ("attack", r.attack),
            ("codec", r.codec),
        ):
            out[key][value] = out[key].get(value, 0) + 1
    out["speakers"] = len(speakers)
    return out
