"""ASVspoof 5 protocols: 10 columns.

``SPEAKER FILE GENDER CODEC CODEC_Q CODEC_SEED ATTACK_TAG ATTACK_LABEL KEY -``, e.g.
``T_4850 T_0000000000 F - - - AC3 A05 spoof -``. Audio: ``flac_T/``, ``flac_D/``,
``flac_E_eval/`` holding ``FILE.flac``; pass the matching folder as ``audio_dir``.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from voxguard.data.manifest import NO_ATTACK, NO_CODEC, Utterance
from voxguard.data.protocols._common import check_key, open_protocol, split_lines


def read_protocol(
    path: str | PathLike, *, audio_dir: str | PathLike | None = None, split: str | None = None
) -> list[Utterance]:
    """Parse an ASVspoof 5 protocol into manifest records.

    Codec fields (``CODEC``, ``CODEC_Q``, ``CODEC_SEED``) become ``codec`` = ``CODEC`` plus
    ``extra``; the attack id is ``ATTACK_LABEL`` (``A01``..., ``bonafide`` → ``-``).

    Raises:
        ParseError: a line does not have exactly 10 columns or its key is not bonafide/spoof.
    """
    path = open_protocol(path, "ASVspoof 5 protocol")
    records = []
    for line_no, cols in split_lines(path, 10, 10):
        speaker, utt, gender, codec, codec_q, codec_seed, tag, attack, key, _ = cols
        label = check_key(path, line_no, key)
        audio = Path(audio_dir) / f"{utt}.flac" if audio_dir is not None else Path(f"{utt}.flac")
        records.append(
            Utterance(
                utt=utt,
                path=str(audio),
                speaker=speaker,
                label=label,
                attack=attack if attack not in ("-", "bonafide") else NO_ATTACK,
                codec=codec if codec != "-" else NO_CODEC,
                split=split,
                corpus="asvspoof5",
                extra={
                    "gender": gender,
                    "codec_q": codec_q,
                    "codec_seed": codec_seed,
                    "attack_tag": tag,
                },
            )
        )
    return records
