"""ASVspoof 2019 LA protocols: ``SPEAKER UTT - SYSTEM KEY``.

Real layout (``LA/`` of the corpus)::

    ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.train.trn.txt   (dev / eval: *.trl.txt)
    ASVspoof2019_LA_{train,dev,eval}/flac/UTT.flac

The third column is unused in LA ("-"); voxguard-mini stores its channel codec there, so
it is read into :attr:`Utterance.codec`. SYSTEM is ``-`` for bona fide, ``A01``... for spoofs.
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike
from pathlib import Path

from voxguard.data.manifest import NO_ATTACK, Utterance
from voxguard.data.protocols._common import check_key, open_protocol, split_lines

SPLITS = ("train", "dev", "eval")
PROTOCOL_DIR = "ASVspoof2019_LA_cm_protocols"


def protocol_name(split: str) -> str:
    """File name of the CM protocol of ``split`` (``train`` uses ``.trn``, the others ``.trl``)."""
    if split not in SPLITS:
        raise ValueError(f"unknown ASVspoof 2019 split {split!r}; use one of {SPLITS}")
    return f"ASVspoof2019.LA.cm.{split}.{'trn' if split == 'train' else 'trl'}.txt"


def protocol_path(root: str | PathLike, split: str) -> Path:
    """Protocol file of ``split`` under the corpus root (the ``LA`` folder)."""
    return Path(root) / PROTOCOL_DIR / protocol_name(split)


def audio_path(root: str | PathLike, split: str, utt: str) -> Path:
    """``ROOT/ASVspoof2019_LA_{split}/flac/UTT.flac``."""
    return Path(root) / f"ASVspoof2019_LA_{split}" / "flac" / f"{utt}.flac"


def read_protocol(
    path: str | PathLike, *, root: str | PathLike | None = None, split: str | None = None
) -> list[Utterance]:
    """Parse a 2019 LA CM protocol into manifest records.

    Args:
        path: the protocol file.
        root: corpus root; when given with ``split``, paths point at the real flac files,
            otherwise ``path`` of each record is ``UTT.flac``.
        split: ``train`` / ``dev`` / ``eval`` (recorded in each record).

    Raises:
        ParseError: a line does not have 5 columns or its key is not bonafide/spoof.
    """
    path = open_protocol(path, "ASVspoof 2019 LA protocol")
    records = []
    for line_no, (speaker, utt, env, system, key) in split_lines(path, 5, 5):
        label = check_key(path, line_no, key)
        audio = audio_path(root, split, utt) if root is not None and split else Path(f"{utt}.flac")
        records.append(
            Utterance(
                utt=utt,
                path=str(audio),
                speaker=speaker,
                label=label,
                attack=system if system != "-" else NO_ATTACK,
                codec=env,
                split=split,
                corpus="asvspoof2019_la",
            )
        )
    return records


def load_split(root: str | PathLike, split: str) -> list[Utterance]:
    """Records of one split of a corpus laid out like ASVspoof 2019 LA."""
    return read_protocol(protocol_path(root, split), root=root, split=split)


def format_line(rec: Utterance) -> str:
    """One protocol line for ``rec`` (codec in column 3, attack in column 4)."""
    return f"{rec.speaker} {rec.utt} {rec.codec or '-'} {rec.attack or '-'} {rec.label}"


def write_protocol(records: Iterable[Utterance], path: str | PathLike) -> Path:
    """Write records as a 2019 LA CM protocol."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(format_line(r) + "\n" for r in records), encoding="utf-8")
    return path
