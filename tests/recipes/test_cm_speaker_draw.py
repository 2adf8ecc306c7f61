"""``recipes/cm/train_waveform.py --speaker-power`` / ``--attack-power``: files drawn by speaker or by attack."""

from __future__ import annotations

import numpy as np
import pytest


def _rows() -> list[dict]:
    # one class: speaker a (mini) 4 files, b (mini) 1 file, c (cohort) 1 file; a cohort speaker
    # named like a mini one ("a") is another voice: the key is (source corpus, speaker)
    rows = [{"source_corpus": "mini", "speaker": "a"}] * 4 + [
        {"source_corpus": "mini", "speaker": "b"},
        {"source_corpus": "cohort", "speaker": "c"},
        {"source_corpus": "cohort", "speaker": "a"},
    ]
    return rows


def test_power_half_gives_each_speaker_the_square_root_of_its_file_count(import_recipe) -> None:
    tw = import_recipe("cm", "train_waveform")
    rows = _rows()
    p = tw.speaker_draw(rows, np.arange(len(rows)), 0.5)
    # weights 1/2 for each of a's 4 files (speaker total 2), 1 for b, c and cohort-a: total 5
    assert p == pytest.approx([0.1] * 4 + [0.2, 0.2, 0.2])


def test_power_one_balances_speakers_and_zero_keeps_the_draw_by_file(import_recipe) -> None:
    tw = import_recipe("cm", "train_waveform")
    rows = _rows()
    p = tw.speaker_draw(rows, np.arange(len(rows)), 1.0)
    assert p[:4].sum() == pytest.approx(0.25) and p[4:] == pytest.approx([0.25] * 3)
    assert tw.speaker_draw(rows, np.arange(len(rows)), 0.0) is None
    # only the files of idx count: a's two files drawn here make n = 2
    sub = tw.speaker_draw(rows, np.array([0, 1, 4]), 0.5)
    assert sub == pytest.approx(np.array([2**-0.5, 2**-0.5, 1.0]) / (2 * 2**-0.5 + 1))
    with pytest.raises(SystemExit, match="speaker-power"):
        tw.speaker_draw(rows, np.arange(len(rows)), 1.5)


def test_attack_power_half_gives_each_attack_the_square_root_of_its_file_count(
    import_recipe,
) -> None:
    tw = import_recipe("cm", "train_waveform")
    # spoofs: voc-x 9 files, tts-y 4 files, tts-z 1 file -> attack shares 3 : 2 : 1 (square roots)
    rows = (
        [{"attack": "voc-x", "speaker": "a"}] * 9
        + [{"attack": "tts-y", "speaker": "a"}] * 4
        + [{"attack": "tts-z", "speaker": "b"}]
    )
    p = tw.attack_draw(rows, np.arange(len(rows)), 0.5)
    assert (
        p[:9].sum() == pytest.approx(3 / 6)
        and p[9:13].sum() == pytest.approx(2 / 6)
        and p[13] == pytest.approx(1 / 6)
    )
    assert p[:9] == pytest.approx([1 / 18] * 9)  # one attack's files alike
    assert tw.attack_draw(rows, np.arange(len(rows)), 0.0) is None
    with pytest.raises(SystemExit, match="attack-power"):
        tw.attack_draw(rows, np.arange(len(rows)), -0.5)
