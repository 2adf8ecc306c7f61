"""Score, key and trial files: round trips, auto-detection, failed rows, malformed lines."""

from __future__ import annotations

import numpy as np
import pytest

from voxguard.data import scorefiles as sf
from voxguard.errors import ParseError, VoxguardError


def _keys() -> sf.CMKeys:
    return sf.CMKeys(
        ids=["u1", "u2", "u3"],
        labels=np.array([1, 0, 0], dtype=np.int8),
        attacks=["bonafide", "A01", "A02"],
        conditions=["-", "-", "-"],
        speakers=["S1", "S1", "S2"],
    )


@pytest.mark.parametrize("fmt", ["asvspoof5", "asvspoof2021", "asvspoof2019"])
def test_cm_scores_round_trip_with_errors(tmp_path, fmt):
    path = tmp_path / "scores.txt"
    sf.write_cm_scores(
        path, ["u1", "u2"], [0.25, -1.5], fmt=fmt, errors={"u3": "cannot\tdecode"}, keys=_keys()
    )
    out = sf.read_cm_scores(path)  # auto-detected
    assert out.ids == ["u1", "u2"]
    np.testing.assert_array_equal(out.scores, [0.25, -1.5])
    assert out.errors == {"u3": "cannot decode"}


def test_asvspoof5_tsv_literal(tmp_path):
    path = tmp_path / "s.tsv"
    path.write_text(
        "filename\tcm-score\nE_001\t1.5\nE_002\tnan\terror=file not found\nE_003\tnan\n"
    )
    out = sf.read_cm_scores(path)
    assert out.ids == ["E_001"]
    assert out.errors == {"E_002": "file not found", "E_003": "score is nan"}


def test_asvspoof5_sasv_tsv_columns(tmp_path):
    path = tmp_path / "sasv.tsv"
    path.write_text(
        "spk\tfilename\tcm-score\tasv-score\tsasv-score\nS1\tE_1\t0.5\t2.0\t1.25\n"
        "S2\tE_1\t0.5\t-1.0\t-0.25\n"
    )
    out = sf.read_cm_scores(path, column="sasv-score")
    assert out.ids == ["S1 E_1", "S2 E_1"]
    np.testing.assert_array_equal(out.scores, [1.25, -0.25])


def test_2019_score_literal(tmp_path):
    path = tmp_path / "cm.txt"
    path.write_text("LA_E_1 - bonafide 2.5\nLA_E_2 A11 spoof -3.25\n")
    out = sf.read_cm_scores(path)
    assert out.ids == ["LA_E_1", "LA_E_2"] and out.scores.tolist() == [2.5, -3.25]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("u1 0.5\nu2 abc\n", "not a number"),
        ("u1 0.5\nu2 0.1 0.2\n", "expected 2 fields"),
        ("u1 0.5\nu1 0.7\n", "duplicate"),
        ("u1 0.5\nu2 inf\n", "infinite"),
    ],
)
def test_malformed_score_lines_name_file_and_line(tmp_path, text, problem):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(ParseError, match=problem) as info:
        sf.read_cm_scores(path)
    assert info.value.line_no == 2 and info.value.path == str(path)
    assert f"{path}:2:" in str(info.value)


def test_missing_file_is_a_voxguard_error(tmp_path):
    with pytest.raises(VoxguardError, match="not found"):
        sf.read_cm_scores(tmp_path / "nope.txt")


def test_keys_formats(tmp_path):
    p19 = tmp_path / "p19.txt"
    p19.write_text("LA_0079 LA_T_1 - - bonafide\nLA_0079 LA_T_2 - A01 spoof\n")
    k = sf.read_cm_keys(p19)
    assert k.ids == ["LA_T_1", "LA_T_2"] and k.labels.tolist() == [1, 0]
    assert k.attacks == ["bonafide", "A01"] and k.speakers == ["LA_0079"] * 2
    assert k.conditions == ["-", "-"]
    p19.write_text("LA_0079 LA_T_1 mp3 - bonafide\n")  # voxguard-mini: codec in column 3
    assert sf.read_cm_keys(p19).conditions == ["mp3"]

    p21 = tmp_path / "trial_metadata.txt"
    p21.write_text(
        "LA_0009 LA_E_1 alaw ita_tx A07 spoof notrim eval\n"
        "LA_0009 LA_E_2 none - - bonafide notrim progress\n"
    )
    k = sf.read_cm_keys(p21)
    assert k.labels.tolist() == [0, 1] and k.attacks == ["A07", "bonafide"]
    assert k.conditions == ["alaw/ita_tx", "none/-"]
    assert sf.read_cm_keys(p21, phase="eval").ids == ["LA_E_1"]

    p5 = tmp_path / "p5.txt"
    p5.write_text(
        "T_4850 T_0000000 F - - - - bonafide bonafide -\n"
        "T_4850 T_0000001 F C05 1 11 AC3 A16 spoof -\n"
    )
    k = sf.read_cm_keys(p5)
    assert k.labels.tolist() == [1, 0] and k.attacks == ["bonafide", "A16"]
    assert k.conditions == ["-", "C05-1"]

    itw = tmp_path / "meta.csv"
    itw.write_text("file,speaker,label\n0.wav,Alec Guinness,spoof\n1.wav,Alec Guinness,bona-fide\n")
    k = sf.read_cm_keys(itw)
    assert k.ids == ["0.wav", "1.wav"] and k.labels.tolist() == [0, 1]


@pytest.mark.parametrize("fmt", ["asvspoof5", "asvspoof2019"])
def test_keys_round_trip(tmp_path, fmt):
    path = tmp_path / "keys.txt"
    sf.write_cm_keys(path, _keys(), fmt=fmt)
    k = sf.read_cm_keys(path)
    assert k.ids == ["u1", "u2", "u3"]
    assert k.labels.tolist() == [1, 0, 0]
    assert k.attacks == ["bonafide", "A01", "A02"]


def test_bad_key_label(tmp_path):
    path = tmp_path / "k.txt"
    path.write_text("S u1 - - bonafide\nS u2 - A01 fake-ish\n")
    with pytest.raises(ParseError, match="neither bonafide nor spoof") as info:
        sf.read_cm_keys(path)
    assert info.value.line_no == 2


def test_trials_both_styles(tmp_path):
    kaldi, vox = tmp_path / "kaldi.txt", tmp_path / "vox.txt"
    kaldi.write_text("1 id1/a.wav id1/b.wav\n0 id1/a.wav id2/c.wav\n")
    vox.write_text("id1/a.wav id1/b.wav target\nid1/a.wav id2/c.wav nontarget\n")
    for path in (kaldi, vox):
        t = sf.read_trials(path)
        assert t.enroll == ["id1/a.wav"] * 2 and t.test == ["id1/b.wav", "id2/c.wav"]
        assert t.labels.tolist() == [1, 0]
    for style in ("kaldi", "voxceleb"):
        out = tmp_path / f"w_{style}.txt"
        sf.write_trials(out, sf.read_trials(vox), style=style)
        assert out.read_text() == (kaldi if style == "kaldi" else vox).read_text()
    bad = tmp_path / "bad.txt"
    bad.write_text("1 a b\nx a b c\n")
    with pytest.raises(ParseError) as info:
        sf.read_trials(bad)
    assert info.value.line_no == 2


def test_labeled_scores_round_trip(tmp_path):
    data = sf.LabeledScores(
        ["e1", "e1", "e2"],
        ["t1", "t2", "t3"],
        np.array([1.0, -2.0, 0.5]),
        ["target", "nontarget", "spoof"],
        errors={"e3 t9": "no audio"},
    )
    path = tmp_path / "sasv.txt"
    sf.write_labeled_scores(path, data)
    back = sf.read_labeled_scores(path)
    assert back.enroll == data.enroll and back.test == data.test and back.labels == data.labels
    np.testing.assert_array_equal(back.scores, data.scores)
    assert back.errors == {"e3 t9": "no audio"}
    np.testing.assert_array_equal(back.by_label("spoof"), [0.5])


def test_wespeaker_unlabeled_and_bad_label(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text("a b 0.5\na c -0.5\n")
    assert sf.read_labeled_scores(path).labels == ["-", "-"]
    path.write_text("a b 0.5 target\na c -0.5 maybe\n")
    with pytest.raises(ParseError, match="maybe"):
        sf.read_labeled_scores(path)


def test_asv_scores_2019(tmp_path):
    path = tmp_path / "asv.txt"
    path.write_text("bonafide target 3.5\nbonafide nontarget -1.0\nA07 spoof 0.25\n")
    out = sf.read_asv_scores_2019(path)
    assert out.labels == ["target", "nontarget", "spoof"]
    assert out.scores.tolist() == [3.5, -1.0, 0.25]


def test_duplicate_keys_and_trials_are_refused_with_both_lines(tmp_path):
    # a second key for one utterance (here with the other label) would silently change the EER
    keys = tmp_path / "keys.txt"
    keys.write_text("S1 u1 - A01 spoof\nS1 u2 - - bonafide\nS1 u1 - - bonafide\n")
    with pytest.raises(ParseError, match=r"keys.txt:3: duplicate 'u1' \(first on line 1\)"):
        sf.read_cm_keys(keys)
    trials = tmp_path / "trials.txt"
    trials.write_text("1 a.wav b.wav\n0 a.wav c.wav\n0 a.wav b.wav\n")
    with pytest.raises(ParseError, match=r"trials.txt:3: duplicate 'a.wav b.wav'"):
        sf.read_trials(trials)
    sasv = tmp_path / "sasv.txt"
    sasv.write_text("e1 t1 0.5 target\ne1 t2 -0.5 spoof\ne1 t1 0.7 target\n")
    with pytest.raises(ParseError, match=r"sasv.txt:3: duplicate 'e1 t1'"):
        sf.read_labeled_scores(sasv)


def test_a_byte_order_mark_is_not_part_of_the_first_id(tmp_path):
    scores = tmp_path / "scores.txt"
    scores.write_bytes(b"\xef\xbb\xbfu1 1.5\nu2 -0.5\n")
    assert sf.read_cm_scores(scores, "asvspoof2021").ids == ["u1", "u2"]
    keys = tmp_path / "keys.txt"
    keys.write_bytes(b"\xef\xbb\xbfS1 u1 - - bonafide\nS1 u2 - A01 spoof\n")
    assert sf.read_cm_keys(keys).ids == ["u1", "u2"]
