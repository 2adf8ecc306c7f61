"""Score, key and trial files: read and write every format voxguard evaluates.

CM scores (one score per utterance, higher = bona fide):

- ``asvspoof5``: TSV with a header naming ``filename`` and ``cm-score`` (other columns allowed,
  e.g. the SASV TSV ``spk filename cm-score asv-score sasv-score``);
- ``asvspoof2019``: ``UTT SRC KEY SCORE`` (whitespace);
- ``asvspoof2021``: ``UTT SCORE`` (whitespace).

CM keys (labels): ``asvspoof5`` TSV (header ``filename cm-label`` [+ ``attack``, ``codec``...]),
``asvspoof5-protocol`` (``SPEAKER FILE GENDER CODEC CODEC_Q CODEC_SEED ATTACK_TAG ATTACK_LABEL
KEY -``), ``asvspoof2019`` (``SPEAKER UTT ENV SYSTEM KEY``; ENV is ``-`` in LA and the channel
codec in voxguard-mini, read as the condition), ``asvspoof2021`` (trial_metadata:
col 2 utt, col 3 codec, col 4 transmission, col 5 attack, col 6 key, col 8 phase) and
``in-the-wild`` (``meta.csv``: ``file,speaker,label``).

Speaker / SASV trials and scores: Kaldi trials ``1|0 ENROLL TEST``, VoxCeleb trials ``ENROLL TEST
target|nontarget``, wespeaker scores ``ENROLL TEST SCORE [target|nontarget]`` and SASV scores
``ENROLL TEST SCORE target|nontarget|spoof``; the ASVspoof 2019 ASV score file ``SRC KEY SCORE``.

**Failed rows.** A score row may end with one field ``error=<message>`` (the message runs to the
end of the line) and then carries the score ``nan``, e.g. ``LA_E_1\\tnan\\terror=cannot decode``.
Readers never return such rows as scores: they go to ``.errors`` (``{id: message}``), as do rows
whose score is ``nan`` without a message. Any other malformed line raises
:class:`~voxguard.errors.ParseError` naming the file and line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxguard.errors import ParseError, VoxguardError

__all__ = [
    "CM_SCORE_FORMATS",
    "CM_KEY_FORMATS",
    "ScoreList",
    "CMKeys",
    "LabeledScores",
    "Trials",
    "read_cm_scores",
    "write_cm_scores",
    "read_cm_keys",
    "write_cm_keys",
    "read_labeled_scores",
    "write_labeled_scores",
    "read_trials",
    "write_trials",
    "read_asv_scores_2019",
]

CM_SCORE_FORMATS = ("auto", "asvspoof5", "asvspoof2019", "asvspoof2021")
CM_KEY_FORMATS = (
    "auto",
    "asvspoof5",
    "asvspoof5-protocol",
    "asvspoof2019",
    "asvspoof2021",
    "in-the-wild",
)
_BONA = {"bonafide", "bona-fide", "bona_fide", "genuine", "1"}
_SPOOF = {"spoof", "spoofed", "fake", "0"}
_TRIAL = {"target": 1, "nontarget": 0, "nontarg": 0, "1": 1, "0": 0}
_SASV_LABELS = ("target", "nontarget", "spoof")
_ERROR = re.compile(r"(?:^|[\t ])error=(.*)$")


@dataclass
class ScoreList:
    """One score per id; failed rows are kept apart in ``errors``."""

    ids: list[str]
    scores: np.ndarray
    errors: dict[str, str] = field(default_factory=dict)
    path: str = ""


@dataclass
class CMKeys:
    """CM ground truth: label 1 = bona fide, 0 = spoof, plus attack / condition / speaker."""

    ids: list[str]
    labels: np.ndarray
    attacks: list[str]
    conditions: list[str]
    speakers: list[str]
    path: str = ""


@dataclass
class LabeledScores:
    """Speaker / SASV scores with labels (``target``, ``nontarget`` or ``spoof``)."""

    enroll: list[str]
    test: list[str]
    scores: np.ndarray
    labels: list[str]
    errors: dict[str, str] = field(default_factory=dict)
    path: str = ""

    def by_label(self, label: str) -> np.ndarray:
        """Scores of the trials carrying ``label``."""
        mask = np.array([lab == label for lab in self.labels], dtype=bool)
        return self.scores[mask] if mask.size else np.zeros(0)


@dataclass
class Trials:
    """Speaker-verification trial list; ``labels`` 1 = target, 0 = non-target (None if unknown)."""

    enroll: list[str]
    test: list[str]
    labels: np.ndarray | None
    path: str = ""


def _lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_no, stripped line)`` for non-empty, non-comment lines."""
    try:
        fh = open(path, encoding="utf-8-sig")  # noqa: SIM115  (a byte-order mark is not text)
    except FileNotFoundError as exc:
        raise VoxguardError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise VoxguardError(f"{path}: is a folder; pass the score, key or trial file") from exc
    except OSError as exc:
        raise VoxguardError(f"{path}: cannot be read ({exc.strerror})") from exc
    no = 0
    with fh:
        try:
            for no, raw in enumerate(fh, 1):
                if "\0" in raw:
                    raise ParseError(path, no, "binary data (NUL bytes); pass a text file")
                line = raw.strip()
                if line and not line.startswith("#"):
                    yield no, line
        except UnicodeDecodeError:
            raise ParseError(
                path, no + 1, "not UTF-8 text (a binary file?); pass a text score, key or trial file"
            ) from None


def _once(seen: dict[str, int], key: str, path: str | Path, no: int, rule: str) -> None:
    """Record ``key`` first seen on line ``no``; a second sighting is a :class:`ParseError`
    (a repeated key or trial with another label would silently change every metric)."""
    if key in seen:
        raise ParseError(path, no, f"duplicate {key!r} (first on line {seen[key]}); {rule}")
    seen[key] = no


def _float(path: str | Path, no: int, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ParseError(path, no, f"score {text!r} is not a number") from None


def _split_error(line: str) -> tuple[str, str | None]:
    m = _ERROR.search(line)
    if m is None:
        return line, None
    return line[: m.start()].strip(), m.group(1).strip() or "failed"


def _first_line(path: str | Path) -> str:
    for _, line in _lines(path):
        return line
    raise VoxguardError(f"{path}: file is empty (no score, key or trial lines)")


# ----------------------------------------------------------------------------- CM scores
def _detect_score_format(path: str | Path) -> str:
    first = _split_error(_first_line(path))[0]
    if "cm-score" in first.split():
        return "asvspoof5"
    n = len(first.split())
    if n == 2:
        return "asvspoof2021"
    if n == 4:
        return "asvspoof2019"
    raise ParseError(path, 1, f"cannot tell the score format from {n} columns; pass --format")


def read_cm_scores(path: str | Path, fmt: str = "auto", column: str = "cm-score") -> ScoreList:
    """Read a CM score file (see the module docstring for the formats).

    For ``asvspoof5`` TSVs, ``column`` picks the score column (``asv-score`` or ``sasv-score`` of
    an ASVspoof 5 SASV file); when the header has a ``spk`` column the id is ``"SPK FILENAME"``.

    Raises:
        ParseError: on a malformed line, a missing header column or a duplicate id.
    """
    if fmt not in CM_SCORE_FORMATS:
        raise VoxguardError(f"unknown score format {fmt!r}; choose one of {CM_SCORE_FORMATS}")
    fmt = _detect_score_format(path) if fmt == "auto" else fmt
    id_col, score_col, ncols = {"asvspoof2019": (0, 3, 4), "asvspoof2021": (0, 1, 2)}.get(
        fmt, (None, None, None)
    )
    ids: list[str] = []
    scores: list[float] = []
    errors: dict[str, str] = {}
    seen: set[str] = set()
    header = fmt == "asvspoof5"
    spk_col: int | None = None
    for no, line in _lines(path):
        body, err = _split_error(line)
        fields = body.split("\t") if fmt == "asvspoof5" else body.split()
        fields = [f.strip() for f in fields]
        if header:
            if "filename" not in fields or column not in fields:
                raise ParseError(
                    path, no, f"the ASVspoof 5 header must name 'filename' and {column!r}"
                )
            id_col, score_col, ncols = fields.index("filename"), fields.index(column), len(fields)
            spk_col = fields.index("spk") if "spk" in fields else None
            header = False
            continue
        if len(fields) != ncols:
            raise ParseError(path, no, f"expected {ncols} fields ({fmt}), found {len(fields)}")
        uid = fields[id_col] if spk_col is None else f"{fields[spk_col]} {fields[id_col]}"
        if uid in seen:
            raise ParseError(path, no, f"duplicate id {uid!r}; each utterance must be scored once")
        seen.add(uid)
        value = _float(path, no, fields[score_col])
        if err is not None or math.isnan(value):
            errors[uid] = err or "score is nan"
        elif math.isinf(value):
            raise ParseError(path, no, f"score of {uid!r} is infinite; clip scores before writing")
        else:
            ids.append(uid)
            scores.append(value)
    return ScoreList(ids, np.asarray(scores, dtype=np.float64), errors, str(path))


def write_cm_scores(
    path: str | Path,
    ids: Sequence[str],
    scores: Sequence[float] | np.ndarray,
    fmt: str = "asvspoof5",
    errors: dict[str, str] | None = None,
    keys: CMKeys | None = None,
) -> None:
    """Write CM scores; ``errors`` rows are appended with score ``nan`` and ``error=<message>``.

    Args:
        fmt: ``asvspoof5`` (TSV with header), ``asvspoof2021`` or ``asvspoof2019`` (needs ``keys``
            for the SRC and KEY columns).
    """
    if fmt not in CM_SCORE_FORMATS[1:]:
        raise VoxguardError(
            f"cannot write score format {fmt!r}; choose one of {CM_SCORE_FORMATS[1:]}"
        )
    if fmt == "asvspoof2019" and keys is None:
        raise VoxguardError("the asvspoof2019 score format needs keys for its SRC and KEY columns")
    lookup = (
        {}
        if keys is None
        else dict(zip(keys.ids, zip(keys.attacks, keys.labels, strict=True), strict=True))
    )
    sep = "\t" if fmt == "asvspoof5" else " "

    def row(uid: str, score: str) -> str:
        if fmt == "asvspoof2019":
            attack, label = lookup.get(uid, ("-", -1))
            key = {1: "bonafide", 0: "spoof"}.get(int(label), "-")
            return f"{uid} {attack} {key} {score}"
        return f"{uid}{sep}{score}"

    out = ["filename\tcm-score"] if fmt == "asvspoof5" else []
    out += [row(u, repr(float(s))) for u, s in zip(ids, scores, strict=True)]
    for uid, msg in (errors or {}).items():
        out.append(f"{row(uid, 'nan')}{sep}error={' '.join(str(msg).split())}")
    Path(path).write_text("\n".join(out) + "\n")


# ----------------------------------------------------------------------------- CM keys
def _label(path: str | Path, no: int, text: str) -> int:
    t = text.strip().lower()
    if t in _BONA:
        return 1
    if t in _SPOOF:
        return 0
    raise ParseError(path, no, f"label {text!r} is neither bonafide nor spoof")


def _detect_key_format(path: str | Path) -> str:
    first = _first_line(path)
    if "cm-label" in first.split():
        return "asvspoof5"
    if first.replace(" ", "").lower().startswith("file,speaker,label"):
        return "in-the-wild"
    n = len(first.split())
    fmt = {5: "asvspoof2019", 10: "asvspoof5-protocol"}.get(n)
    if fmt is None and n >= 8:
        fmt = "asvspoof2021"
    if fmt is None:
        raise ParseError(path, 1, f"cannot tell the key format from {n} columns; pass --key-format")
    return fmt


def read_cm_keys(path: str | Path, fmt: str = "auto", phase: str | None = None) -> CMKeys:
    """Read CM keys / protocols (see the module docstring); ``phase`` filters 2021 metadata.

    Raises:
        ParseError: on a malformed line or an unknown label.
    """
    if fmt not in CM_KEY_FORMATS:
        raise VoxguardError(f"unknown key format {fmt!r}; choose one of {CM_KEY_FORMATS}")
    fmt = _detect_key_format(path) if fmt == "auto" else fmt
    ids, labels, attacks, conds, spks = [], [], [], [], []
    seen: dict[str, int] = {}
    cols: dict[str, int] | None = None
    for no, line in _lines(path):
        if fmt == "asvspoof5":
            f = [x.strip() for x in line.split("\t")]
            if cols is None:
                if "filename" not in f or "cm-label" not in f:
                    raise ParseError(
                        path, no, "the ASVspoof 5 key header must name 'filename' and 'cm-label'"
                    )
                cols = {name: i for i, name in enumerate(f)}
                continue
            if len(f) != len(cols):
                raise ParseError(
                    path, no, f"expected {len(cols)} tab-separated fields, found {len(f)}"
                )
            uid, lab = f[cols["filename"]], f[cols["cm-label"]]
            attack = f[cols["attack"]] if "attack" in cols else "-"
            cond = f[cols["codec"]] if "codec" in cols else "-"
            spk = f[cols["spk"]] if "spk" in cols else "-"
        elif fmt == "in-the-wild":
            if cols is None:
                cols = {}
                continue
            f = [x.strip() for x in line.split(",")]
            if len(f) != 3:
                raise ParseError(path, no, f"expected 'file,speaker,label', found {len(f)} fields")
            uid, spk, lab, attack, cond = f[0], f[1], f[2], "-", "-"
        else:
            f = line.split()
            need = {"asvspoof2019": 5, "asvspoof5-protocol": 10, "asvspoof2021": 8}[fmt]
            if len(f) < need or (fmt != "asvspoof2021" and len(f) != need):
                raise ParseError(path, no, f"expected {need} fields ({fmt}), found {len(f)}")
            if fmt == "asvspoof2019":
                spk, uid, attack, lab, cond = f[0], f[1], f[3], f[4], f[2]
            elif fmt == "asvspoof5-protocol":
                spk, uid, attack, lab = f[0], f[1], f[7], f[8]
                cond = f[3] if f[4] == "-" else f"{f[3]}-{f[4]}"
            else:
                if phase is not None and f[7] != phase:
                    continue
                spk, uid, attack, lab, cond = f[0], f[1], f[4], f[5], f"{f[2]}/{f[3]}"
        y = _label(path, no, lab)
        _once(seen, uid, path, no, "each utterance must have one key")
        ids.append(uid)
        labels.append(y)
        attacks.append("bonafide" if y == 1 and attack in ("-", "") else attack)
        conds.append(cond)
        spks.append(spk)
    return CMKeys(ids, np.asarray(labels, dtype=np.int8), attacks, conds, spks, str(path))


def write_cm_keys(path: str | Path, keys: CMKeys, fmt: str = "asvspoof5") -> None:
    """Write keys as an ASVspoof 5 TSV (``filename cm-label attack codec``) or 2019 protocol."""
    lab = ["bonafide" if y == 1 else "spoof" for y in keys.labels]
    if fmt == "asvspoof5":
        out = ["filename\tcm-label\tattack\tcodec"]
        out += [
            f"{u}\t{y}\t{a}\t{c}"
            for u, y, a, c in zip(keys.ids, lab, keys.attacks, keys.conditions, strict=True)
        ]
    elif fmt == "asvspoof2019":
        out = [
            f"{s} {u} {c or '-'} {'-' if a == 'bonafide' else a} {y}"
            for s, u, c, a, y in zip(
                keys.speakers, keys.ids, keys.conditions, keys.attacks, lab, strict=True
            )
        ]
    else:
        raise VoxguardError(f"cannot write key format {fmt!r}; use 'asvspoof5' or 'asvspoof2019'")
    Path(path).write_text("\n".join(out) + "\n")


# ----------------------------------------------------------------------------- SV / SASV
def read_labeled_scores(path: str | Path) -> LabeledScores:
    """Read ``ENROLL TEST SCORE LABEL`` (SASV / wespeaker) or ``ENROLL TEST SCORE`` lines.

    ``LABEL`` is ``target``, ``nontarget`` or ``spoof`` (``1``/``0`` also read as
    target/nontarget); unlabeled files give labels ``"-"``.
    """
    enroll, test, scores, labels = [], [], [], []
    errors: dict[str, str] = {}
    seen: dict[str, int] = {}
    for no, line in _lines(path):
        body, err = _split_error(line)
        f = body.split()
        if len(f) not in (3, 4):
            raise ParseError(
                path, no, f"expected 'ENROLL TEST SCORE [LABEL]', found {len(f)} fields"
            )
        value = _float(path, no, f[2])
        _once(seen, f"{f[0]} {f[1]}", path, no, "each trial must be scored once")
        if err is not None or math.isnan(value):
            errors[f"{f[0]} {f[1]}"] = err or "score is nan"
            continue
        lab = f[3].lower() if len(f) == 4 else "-"
        lab = {"1": "target", "0": "nontarget", "nontarg": "nontarget"}.get(lab, lab)
        if lab not in _SASV_LABELS and lab != "-":
            raise ParseError(path, no, f"label {f[3]!r} is not target, nontarget or spoof")
        enroll.append(f[0])
        test.append(f[1])
        scores.append(value)
        labels.append(lab)
    return LabeledScores(enroll, test, np.asarray(scores, np.float64), labels, errors, str(path))


def write_labeled_scores(path: str | Path, data: LabeledScores) -> None:
    """Write ``ENROLL TEST SCORE [LABEL]`` lines (the label is left out when it is ``"-"``)."""
    out = []
    for e, t, s, lab in zip(data.enroll, data.test, data.scores, data.labels, strict=True):
        out.append(f"{e} {t} {float(s)!r}" + ("" if lab == "-" else f" {lab}"))
    for trial, msg in data.errors.items():
        out.append(f"{trial} nan error={' '.join(str(msg).split())}")
    Path(path).write_text("\n".join(out) + "\n")


def read_trials(path: str | Path) -> Trials:
    """Read Kaldi (``1|0 ENROLL TEST``), VoxCeleb (``ENROLL TEST target|nontarget``) or unlabeled
    (``ENROLL TEST``) trial lists; the layout is taken from each line."""
    enroll, test, labels = [], [], []
    seen: dict[str, int] = {}
    for no, line in _lines(path):
        f = line.split()
        if len(f) in (2, 3):
            pair = f"{f[1]} {f[2]}" if len(f) == 3 and f[0] in ("0", "1") else f"{f[0]} {f[1]}"
            _once(seen, pair, path, no, "each trial must be listed once")
        if len(f) == 3 and f[0] in ("0", "1"):
            labels.append(int(f[0]))
            enroll.append(f[1])
            test.append(f[2])
        elif len(f) == 3 and f[2].lower() in _TRIAL:
            labels.append(_TRIAL[f[2].lower()])
            enroll.append(f[0])
            test.append(f[1])
        elif len(f) == 2:
            labels.append(-1)
            enroll.append(f[0])
            test.append(f[1])
        else:
            raise ParseError(
                path, no, "expected '1|0 ENROLL TEST' or 'ENROLL TEST target|nontarget'"
            )
    arr = np.asarray(labels, dtype=np.int8)
    if arr.size and (arr < 0).any() and not (arr < 0).all():
        raise ParseError(path, 1, "some trials are labeled and some are not; label all or none")
    return Trials(enroll, test, None if arr.size and (arr < 0).all() else arr, str(path))


def write_trials(path: str | Path, trials: Trials, style: str = "voxceleb") -> None:
    """Write trials as ``ENROLL TEST target|nontarget`` (``voxceleb``) or ``1|0 ENROLL TEST``
    (``kaldi``)."""
    if trials.labels is None:
        out = [f"{e} {t}" for e, t in zip(trials.enroll, trials.test, strict=True)]
    elif style == "kaldi":
        out = [
            f"{int(y)} {e} {t}"
            for e, t, y in zip(trials.enroll, trials.test, trials.labels, strict=True)
        ]
    elif style == "voxceleb":
        names = {1: "target", 0: "nontarget"}
        out = [
            f"{e} {t} {names[int(y)]}"
            for e, t, y in zip(trials.enroll, trials.test, trials.labels, strict=True)
        ]
    else:
        raise VoxguardError(f"unknown trial style {style!r}; use 'voxceleb' or 'kaldi'")
    Path(path).write_text("\n".join(out) + "\n")


def read_asv_scores_2019(path: str | Path) -> LabeledScores:
    """Read the ASVspoof 2019 ASV score file ``SRC KEY SCORE`` (KEY target|nontarget|spoof).

    The source goes to ``enroll`` and ``test`` is ``"-"``; use the three label groups with
    :func:`voxguard.metrics.asv_error_rates` for a t-DCF with your own ASV.
    """
    src, scores, labels = [], [], []
    for no, line in _lines(path):
        f = line.split()
        if len(f) != 3:
            raise ParseError(path, no, f"expected 'SRC KEY SCORE', found {len(f)} fields")
        if f[1] not in _SASV_LABELS:
            raise ParseError(path, no, f"key {f[1]!r} is not target, nontarget or spoof")
        src.append(f[0])
        labels.append(f[1])
        scores.append(_float(path, no, f[2]))
    return LabeledScores(
        src, ["-"] * len(src), np.asarray(scores, np.float64), labels, {}, str(path)
    )
