"""Protocol readers on fake files in the real corpora layouts."""

from __future__ import annotations

import pytest

from voxguard.data.protocols import asvspoof5, asvspoof2019, asvspoof2021, in_the_wild, voxceleb
from voxguard.errors import ParseError
from voxguard.testing import protocols as fake


def test_asvspoof2019_split(tmp_path):
    fake.fake_asvspoof2019(tmp_path, "dev")
    recs = asvspoof2019.load_split(tmp_path, "dev")
    assert [r.utt for r in recs] == ["LA_D_1138215", "LA_D_1271820", "LA_D_1272637", "LA_D_1276960"]
    assert [r.label for r in recs] == ["bonafide", "spoof", "bonafide", "spoof"]
    assert [r.attack for r in recs] == ["-", "A01", "-", "A02"]
    assert recs[1].path.endswith("ASVspoof2019_LA_dev/flac/LA_D_1271820.flac")
    assert all(r.resolve(None).is_file() for r in recs)
    assert recs[0].target == 1 and recs[1].target == 0


def test_asvspoof2019_protocol_names():
    assert asvspoof2019.protocol_name("train") == "ASVspoof2019.LA.cm.train.trn.txt"
    assert asvspoof2019.protocol_name("eval") == "ASVspoof2019.LA.cm.eval.trl.txt"


def test_asvspoof2019_roundtrip(tmp_path):
    path = fake.fake_asvspoof2019(tmp_path, "train", with_audio=False)
    recs = asvspoof2019.read_protocol(path)
    out = asvspoof2019.write_protocol(recs, tmp_path / "copy.txt")
    assert out.read_text() == path.read_text()


@pytest.mark.parametrize(
    "line, problem",
    [
        ("LA_0079 LA_T_1 - A01\n", "expected 5 columns"),
        ("LA_0079 LA_T_1 - A01 fake\n", "key must be"),
    ],
)
def test_asvspoof2019_malformed(tmp_path, line, problem):
    path = tmp_path / "p.txt"
    path.write_text("LA_0079 LA_T_0 - - bonafide\n" + line)
    with pytest.raises(ParseError, match=problem) as info:
        asvspoof2019.read_protocol(path)
    assert info.value.line_no == 2 and str(path) in str(info.value)


def test_asvspoof2021_la_phases(tmp_path):
    path = fake.fake_asvspoof2021(tmp_path / "keys", "LA")
    recs = asvspoof2021.read_trial_metadata(path, track="LA", audio_root=tmp_path)
    assert [(r.utt, r.label, r.attack, r.codec) for r in recs] == [
        ("LA_E_9332881", "spoof", "A07", "alaw"),
        ("LA_E_5849185", "bonafide", "-", "none"),
    ]
    assert recs[0].path.endswith("ASVspoof2021_LA_eval/flac/LA_E_9332881.flac")
    assert len(asvspoof2021.read_trial_metadata(path, phases=None)) == 4


def test_asvspoof2021_df_extra_columns(tmp_path):
    path = fake.fake_asvspoof2021(tmp_path / "keys", "DF")
    recs = asvspoof2021.read_trial_metadata(path, track="DF", phases=("eval", "progress"))
    assert [r.label for r in recs] == ["spoof", "bonafide", "spoof"]
    assert recs[2].attack == "Task1-team20" and recs[2].split == "progress"


def test_asvspoof2021_bad_phase(tmp_path):
    path = tmp_path / "trial_metadata.txt"
    path.write_text("LA_0009 LA_E_1 alaw ita_tx A07 spoof notrim later\n")
    with pytest.raises(ParseError, match="phase"):
        asvspoof2021.read_trial_metadata(path)


def test_asvspoof5(tmp_path):
    path = fake.fake_asvspoof5(tmp_path)
    recs = asvspoof5.read_protocol(path, audio_dir=tmp_path / "flac_T", split="train")
    assert [r.label for r in recs] == ["spoof", "bonafide", "spoof", "bonafide"]
    assert [r.attack for r in recs] == ["A05", "-", "A19", "-"]
    assert [r.codec for r in recs] == ["-", "-", "mp3", "opus"]
    assert recs[2].extra == {"gender": "M", "codec_q": "2", "codec_seed": "1", "attack_tag": "-"}
    assert all(r.resolve(None).is_file() for r in recs)


def test_asvspoof5_wrong_columns(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("T_4850 T_0000000000 F - - - AC3 A05 spoof\n")
    with pytest.raises(ParseError, match="expected 10 columns"):
        asvspoof5.read_protocol(path)


def test_in_the_wild(tmp_path):
    path = fake.fake_in_the_wild(tmp_path / "release_in_the_wild")
    recs = in_the_wild.read_meta(path)
    assert [(r.utt, r.speaker, r.label) for r in recs] == [
        ("0", "Alec Guinness", "spoof"),
        ("1", "Alec Guinness", "bonafide"),
        ("2", "Barack Obama", "spoof"),
        ("3", "Barack Obama", "bonafide"),
    ]
    assert all(r.resolve(None).is_file() for r in recs)


def test_in_the_wild_bad(tmp_path):
    path = tmp_path / "meta.csv"
    path.write_text("file,speaker,label\n0.wav,A,fake\n")
    with pytest.raises(ParseError, match="key must be") as info:
        in_the_wild.read_meta(path)
    assert info.value.line_no == 2
    path.write_text("name,label\n0.wav,spoof\n")
    with pytest.raises(ParseError, match="header"):
        in_the_wild.read_meta(path)


def test_voxceleb(tmp_path):
    wav, trials_path = fake.fake_voxceleb(tmp_path)
    recs = voxceleb.scan_audio(wav)
    assert sorted({r.speaker for r in recs}) == ["id10270", "id10300"]
    trials = voxceleb.read_trials(trials_path)
    assert trials.labels.tolist() == [1, 0, 1]
    assert set(trials.enroll) | set(trials.test) <= {r.utt for r in recs}


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        asvspoof2019.read_protocol(tmp_path / "nope.txt")
