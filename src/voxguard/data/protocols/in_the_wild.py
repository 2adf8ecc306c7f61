"""In-the-Wild (Müller et al., 2022): ``meta.csv`` with header ``file,speaker,label``.

``label`` is ``bona-fide`` or ``spoof``; audio files (``0.wav``...) sit beside ``meta.csv``.
"""

from __future__ import annotations

import csv
from os import PathLike
from pathlib import Path

from voxguard.data.manifest import Utterance
from voxguard.data.protocols._common import check_key, open_protocol
from voxguard.errors import ParseError

_ALIASES = {"bona-fide": "bonafide", "bonafide": "bonafide", "spoof": "spoof"}


def read_meta(path: str | PathLike, *, audio_dir: str | PathLike | None = None) -> list[Utterance]:
    """Parse ``meta.csv`` into manifest records (paths relative to ``audio_dir``, default its folder).

    Raises:
        ParseError: missing header columns, a short row, or an unknown label.
    """
    path = open_protocol(path, "In-the-Wild meta.csv")
    base = Path(audio_dir) if audio_dir is not None else path.parent
    records = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:3]] != ["file", "speaker", "label"]:
            raise ParseError(path, 1, f"expected the header 'file,speaker,label', got {header!r}")
        for line_no, row in enumerate(reader, 2):
            if not row:
                continue
            if len(row) < 3:
                raise ParseError(
                    path, line_no, f"expected 3 fields (file,speaker,label), got {row!r}"
                )
            file, speaker, label = (v.strip() for v in row[:3])
            key = check_key(path, line_no, label, _ALIASES)
            records.append(
                Utterance(
                    utt=Path(file).stem,
                    path=str(base / file),
                    speaker=speaker,
                    label=key,
                    split="eval",
                    corpus="in_the_wild",
                )
            )
    return records
