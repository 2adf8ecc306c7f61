"""Train / dev / test speaker splits of the shared data for the speaker recipe (one place).

- test: ``librispeech-test-other`` (10 speakers) — final evaluation only, never for selection;
- dev: 6 librispeech-mini speakers (3 F, 3 M) with all their utterances, plus every 7th
  cohort-only speaker (one 6-s utterance each) — learning curves, checkpoint selection and the
  calibration / operating-point fit; none of them is trained on (their cohort utterance neither);
- train: the rest of librispeech-mini and librispeech-cohort, and fsdd (6 speakers, 8 kHz).
``speecht5-hifigan``, ``vctk-vc`` and ``ami-excerpts`` are validation-only and never in these splits
(``validation_speakers.py`` scores speaker trials on ``ami-excerpts`` and ``vctk-vc/bonafide`` for
selection and reports only; nothing is trained or fitted on them).
"""

from __future__ import annotations

import json
from pathlib import Path

DEV_MINI_SPEAKERS = ("1898", "2416", "4640", "3242", "3664", "6848")  # F F F M M M
TEST_CORPUS = "librispeech-test-other"
TRAIN_CORPORA = ("librispeech-mini", "librispeech-cohort", "fsdd")


def read_manifest(data_dir: str | Path) -> list[dict]:
    """All lines of ``DATA/manifest.jsonl``."""
    text = (Path(data_dir) / "manifest.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line]


def splits(data_dir: str | Path) -> dict[str, list[dict]]:
    """``train``, ``dev_mini`` (dev speakers' mini utterances), ``dev_cohort`` and ``test`` entries."""
    entries = read_manifest(data_dir)
    mini = {e["speaker"] for e in entries if e["corpus"] == "librispeech-mini"}
    cohort_only = sorted(
        {e["speaker"] for e in entries if e["corpus"] == "librispeech-cohort"} - mini, key=int
    )
    dev_cohort = set(cohort_only[::7])
    held = set(DEV_MINI_SPEAKERS) | dev_cohort
    out: dict[str, list[dict]] = {"train": [], "dev_mini": [], "dev_cohort": [], "test": []}
    for e in entries:
        if e["corpus"] == TEST_CORPUS:
            out["test"].append(e)
        elif e["corpus"] not in TRAIN_CORPORA:
            continue
        elif e["corpus"] != "fsdd" and e["speaker"] in held:
            if e["corpus"] == "librispeech-mini":
                out["dev_mini"].append(e)
            elif e["speaker"] in dev_cohort:
                out["dev_cohort"].append(e)
        else:
            out["train"].append(e)
    test_spk = {e["speaker"] for e in out["test"]}
    assert not test_spk & {e["speaker"] for e in out["train"]}, "test speakers in training"
    assert not held & {e["speaker"] for e in out["train"] if e["corpus"] != "fsdd"}
    return out


def dev_curve_subset(dev_mini: list[dict], per_speaker: int = 12) -> list[dict]:
    """The first ``per_speaker`` utterances of each dev speaker (the learning-curve dev set)."""
    seen: dict[str, int] = {}
    out = []
    for e in sorted(dev_mini, key=lambda e: e["utt"]):
        if seen.get(e["speaker"], 0) < per_speaker:
            seen[e["speaker"]] = seen.get(e["speaker"], 0) + 1
            out.append(e)
    return out
