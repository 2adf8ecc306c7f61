"""ASVspoof 2021 LA / DF keys: ``keys/CM/trial_metadata.txt``.

Columns (1-based): 1 speaker, 2 utterance, 3 codec, 4 transmission (LA) / source (DF),
5 attack, 6 key, 7 trim, 8 phase (``progress`` / ``eval`` / ``hidden_track``); DF lines carry
extra columns after the 8th, which are ignored. Audio: ``ASVspoof2021_{LA,DF}_eval/flac/UTT.flac``.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from voxguard.data.manifest import NO_ATTACK, Utterance
from voxguard.data.protocols._common import check_key, open_protocol, split_lines

TRACKS = ("LA", "DF")
PHASES = ("progress", "eval", "hidden_track")


def read_trial_metadata(
    path: str | PathLike,
    *,
    track: str = "LA",
    audio_root: str | PathLike | None = None,
    phases: tuple[str, ...] | None = ("eval",),
) -> list[Utterance]:
    """Parse ``trial_metadata.txt`` into manifest records.

    Args:
        path: the metadata file.
        track: ``LA`` or ``DF`` (corpus name and audio folder).
        audio_root: folder holding ``ASVspoof2021_{track}_eval/``; without it paths are ``UTT.flac``.
        phases: keep only these phases (``None`` keeps all). The official eval set is ``eval``.

    Raises:
        ParseError: fewer than 8 columns, bad key, or unknown phase.
    """
    if track not in TRACKS:
        raise ValueError(f"unknown ASVspoof 2021 track {track!r}; use one of {TRACKS}")
    path = open_protocol(path, f"ASVspoof 2021 {track} trial_metadata.txt")
    from voxguard.errors import ParseError

    records = []
    for line_no, cols in split_lines(path, 8):
        label = check_key(path, line_no, cols[5])
        phase = cols[7]
        if phase not in PHASES:
            raise ParseError(
                path, line_no, f"column 8 (phase) must be one of {PHASES}, got {phase!r}"
            )
        if phases is not None and phase not in phases:
            continue
        utt = cols[1]
        audio = (
            Path(audio_root) / f"ASVspoof2021_{track}_eval" / "flac" / f"{utt}.flac"
            if audio_root is not None
            else Path(f"{utt}.flac")
        )
        records.append(
            Utterance(
                utt=utt,
                path=str(audio),
                speaker=cols[0],
                label=label,
                attack=cols[4] if cols[4] != "-" else NO_ATTACK,
                codec=cols[2],
                split=phase,
                corpus=f"asvspoof2021_{track.lower()}",
                extra={"transmission": cols[3], "trim": cols[6]},
            )
        )
    return records
