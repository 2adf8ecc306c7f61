"""``recipes/cm/train_waveform.py --hold-out``: a dev-only build's speakers are never trained on."""

from __future__ import annotations

import json

import pytest


def _build(folder, speakers):
    folder.mkdir()
    with (folder / "manifest.jsonl").open("w") as f:
        for n, spk in enumerate(speakers):
            f.write(
                json.dumps(
                    {
                        "utt": f"D{n}",
                        "path": f"x/D{n}.flac",
                        "label": "bonafide",
                        "attack": "-",
                        "split": "dev",
                        "speaker": spk,
                    }
                )
                + "\n"
            )
    return folder


def _rows():
    row = {"set": "engine", "source_corpus": "librispeech-cohort"}
    return [
        {**row, "utt": "t1", "split": "train", "label": "bonafide", "speaker": "103"},
        {**row, "utt": "t2", "split": "train", "label": "spoof", "speaker": "103"},
        {
            **row,
            "utt": "t3",
            "split": "train",
            "label": "spoof",
            "speaker": "103",
        },  # a supplement's spoof
        {**row, "utt": "t4", "split": "train", "label": "bonafide", "speaker": "1034"},
        {**row, "utt": "d1", "split": "dev", "label": "bonafide", "speaker": "103"},
        {
            "utt": "v1",
            "split": "validation",
            "label": "bonafide",
            "set": "vctk-vc",
        },  # no speaker field
    ]


def test_every_training_row_of_a_held_speaker_goes_and_nothing_else(import_recipe, tmp_path):
    tw = import_recipe("cm", "train_waveform")
    kept, record = tw.hold_out(_rows(), [_build(tmp_path / "cohort-dev", ["103", "2002"])])
    assert [r["utt"] for r in kept] == ["t4", "d1", "v1"]  # "1034" is another speaker than "103"
    assert record["speakers"] == 2 and record["train_rows_dropped"] == {"bonafide": 1, "spoof": 2}
    assert tw.hold_out(_rows(), []) == (
        _rows(),
        {"builds": [], "speakers": 0, "train_rows_dropped": {"bonafide": 0, "spoof": 0}},
    )


def test_a_build_that_holds_no_training_speaker_or_is_missing_stops_the_run(
    import_recipe, tmp_path
):
    tw = import_recipe("cm", "train_waveform")
    with pytest.raises(SystemExit, match="none of the 1 speakers"):
        tw.hold_out(_rows(), [_build(tmp_path / "other", ["9999"])])
    with pytest.raises(SystemExit, match="no manifest.jsonl"):
        tw.hold_out(_rows(), [tmp_path / "absent"])
