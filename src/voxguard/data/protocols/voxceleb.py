"""VoxCeleb1: the audio tree and the verification trial lists.

Audio: ``wav/idXXXXX/VIDEO_ID/NNNNN.wav``; utterance ids are the paths relative to ``wav/``
(``id10270/x6uYqmx31kE/00001.wav``), as used by the trial lists. Trials come in two layouts:
VoxCeleb ``1|0 ENROLL TEST`` (``veri_test2.txt``) and Kaldi ``ENROLL TEST target|nontarget``.
The trial parser is :func:`voxguard.data.scorefiles.read_trials`, re-exported here.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from voxguard.data.manifest import BONAFIDE, DataFileNotFound, Utterance
from voxguard.data.scorefiles import Trials, read_trials

__all__ = ["Trials", "read_trials", "scan_audio"]


def scan_audio(root: str | PathLike, pattern: str = "*/*/*.wav") -> list[Utterance]:
    """Manifest records for the VoxCeleb audio tree under ``root`` (the ``wav/`` folder).

    The speaker is the first path component; the utterance id is the relative path.

    Raises:
        DataFileNotFound: ``root`` is missing or holds no file matching ``pattern``.
    """
    root = Path(root)
    files = sorted(root.glob(pattern)) if root.is_dir() else []
    if not files:
        raise DataFileNotFound(
            f"no VoxCeleb audio matching {pattern!r} under {root} (pass the folder that holds id1xxxx/)"
        )
    return [
        Utterance(
            utt=f.relative_to(root).as_posix(),
            path=str(f),
            speaker=f.relative_to(root).parts[0],
            label=BONAFIDE,
            corpus="voxceleb",
        )
        for f in files
    ]
