"""Fake corpora in the exact real layouts, for tests (tiny, synthetic audio, deterministic).

Each builder writes the protocol file(s) and, when ``with_audio`` is set, one short synthetic
audio file per utterance where the real corpus keeps it; it returns the protocol path.
"""

from __future__ import annotations

from pathlib import Path

from voxguard.testing.audio import write_wav


def _audio(path: Path, seed: int, with_audio: bool) -> None:
    if with_audio:
        write_wav(path, seconds=0.5, seed=seed)


def fake_asvspoof2019(root: str | Path, split: str = "train", with_audio: bool = True) -> Path:
    """``LA/``-style folder: 2 bona fide + 2 spoof (A01, A02) lines for ``split``."""
    from voxguard.data.protocols.asvspoof2019 import audio_path, protocol_path

    root = Path(root)
    tag = {"train": "T", "dev": "D", "eval": "E"}[split]
    lines = [
        ("LA_0079", f"LA_{tag}_1138215", "-", "-", "bonafide"),
        ("LA_0079", f"LA_{tag}_1271820", "-", "A01", "spoof"),
        ("LA_0080", f"LA_{tag}_1272637", "-", "-", "bonafide"),
        ("LA_0080", f"LA_{tag}_1276960", "-", "A02", "spoof"),
    ]
    path = protocol_path(root, split)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(" ".join(cols) + "\n" for cols in lines))
    for i, cols in enumerate(lines):
        _audio(audio_path(root, split, cols[1]), i, with_audio)
    return path


def fake_asvspoof2021(keys_root: str | Path, track: str = "LA") -> Path:
    """``keys/CM/trial_metadata.txt`` with eval, progress and hidden_track lines (DF has 13 columns)."""
    keys_root = Path(keys_root)
    if track == "LA":
        lines = [
            "LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval",
            "LA_0013 LA_E_5849185 none - - bonafide notrim eval",
            "LA_0013 LA_E_5849186 ulaw sin_tx A19 spoof notrim progress",
            "LA_0031 LA_E_7059129 gsm loc_tx - bonafide trim hidden_track",
        ]
    else:
        lines = [
            "LA_0043 DF_E_2000026 mp3m4a asvspoof A09 spoof notrim eval traditional_vocoder - - - -",
            "LA_0043 DF_E_2000027 nocodec asvspoof - bonafide notrim eval - - - - -",
            "VCC2TF1 DF_E_2000028 ogg vcc2020 Task1-team20 spoof notrim progress neural_vocoder - - - -",
        ]
    path = keys_root / "CM" / "trial_metadata.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def fake_asvspoof5(root: str | Path, with_audio: bool = True) -> Path:
    """``ASVspoof5.train.tsv``-style protocol (10 columns) and ``flac_T/`` audio."""
    root = Path(root)
    lines = [
        "T_4850 T_0000000000 F - - - AC3 A05 spoof -",
        "T_4850 T_0000000001 F - - - bonafide bonafide bonafide -",
        "E_0003 E_0000000002 M mp3 2 1 - A19 spoof -",
        "E_0003 E_0000000003 M opus 5 3 - bonafide bonafide -",
    ]
    path = root / "ASVspoof5.train.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    for i, line in enumerate(lines):
        _audio(root / "flac_T" / f"{line.split()[1]}.flac", i, with_audio)
    return path


def fake_in_the_wild(root: str | Path, with_audio: bool = True) -> Path:
    """``release_in_the_wild/meta.csv`` + ``N.wav`` files."""
    root = Path(root)
    rows = [
        ("0.wav", "Alec Guinness", "spoof"),
        ("1.wav", "Alec Guinness", "bona-fide"),
        ("2.wav", "Barack Obama", "spoof"),
        ("3.wav", "Barack Obama", "bona-fide"),
    ]
    path = root / "meta.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("file,speaker,label\n" + "".join(f"{f},{s},{lab}\n" for f, s, lab in rows))
    for i, (f, _, _) in enumerate(rows):
        _audio(root / f, i, with_audio)
    return path


def fake_voxceleb(root: str | Path, with_audio: bool = True) -> tuple[Path, Path]:
    """A ``wav/`` tree (2 speakers × 2 files) and a ``veri_test2.txt`` list; returns both paths."""
    root = Path(root)
    files = [
        "id10270/x6uYqmx31kE/00001.wav",
        "id10270/8jEAjG6SegY/00008.wav",
        "id10300/ize_eiCFEg0/00003.wav",
        "id10300/Pw4T2x1A0pc/00002.wav",
    ]
    for i, f in enumerate(files):
        _audio(root / "wav" / f, i, with_audio)
    trials = root / "veri_test2.txt"
    trials.write_text(
        f"1 {files[0]} {files[1]}\n0 {files[0]} {files[2]}\n1 {files[2]} {files[3]}\n"
    )
    return root / "wav", trials
