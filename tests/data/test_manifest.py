"""Manifest records: JSONL round trip, the shared manifest, malformed lines."""

from __future__ import annotations

import json

import pytest

from voxguard.data.manifest import Utterance, read_manifest, summarize, write_manifest
from voxguard.errors import ParseError


def test_roundtrip_keeps_extra(tmp_path):
    recs = [
        Utterance(
            "u1",
            "a/u1.flac",
            "s1",
            label="bonafide",
            split="train",
            duration=1.5,
            extra={"source": "x"},
        ),
        Utterance("u2", "a/u2.flac", "s1", label="spoof", attack="A01", codec="mp3"),
    ]
    path = write_manifest(recs, tmp_path / "m.jsonl")
    back = read_manifest(path)
    assert back == recs
    assert json.loads(path.read_text().splitlines()[0])["source"] == "x"
    assert summarize(back)["attack"] == {"-": 1, "A01": 1}


def test_bad_lines(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"utt": "a", "path": "a.wav", "label": "spoof"}\n{"utt": "b"}\n')
    with pytest.raises(ParseError, match=r"m.jsonl:2: .*'path'"):
        read_manifest(path)
    path.write_text('{"utt": "a", "path": "a.wav", "label": "fake"}\n')
    with pytest.raises(ParseError, match="label must be"):
        read_manifest(path)
    path.write_text("not json\n")
    with pytest.raises(ParseError, match="not valid JSON"):
        read_manifest(path)


def test_label_is_required(tmp_path):
    with pytest.raises(TypeError, match="label"):
        Utterance("u1", "a.flac", "s1")
    path = tmp_path / "m.jsonl"
    path.write_text('{"utt": "u1", "path": "a.flac"}\n')
    with pytest.raises(ParseError, match="default_label"):
        read_manifest(path)
    assert read_manifest(path, default_label="bonafide")[0].is_bonafide


def test_reads_shared_manifest(shared_dir):
    # real speech only, without labels: bona fide is stated where it is read
    recs = read_manifest(shared_dir / "data" / "manifest.jsonl", default_label="bonafide")
    mini = [r for r in recs if r.corpus == "librispeech-mini"]
    assert len(mini) == 1519 and len({r.speaker for r in mini}) == 28
    assert all(r.is_bonafide for r in recs)
    assert mini[0].resolve(shared_dir / "data").is_file()
