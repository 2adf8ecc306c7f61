"""The bundled default models run on ONNX Runtime with the scores and decisions of torch."""

from __future__ import annotations

import numpy as np
import pytest

from voxguard.api import SpeakerVerifier, SpoofDetector
from voxguard.api._load import default_model
from voxguard.cli.cmd_demo import DEMO_AUDIO

pytest.importorskip("onnxruntime")
DEMO_CLIPS = sorted(DEMO_AUDIO.glob("*.flac"))


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VOXGUARD_CACHE", str(tmp_path / "cache"))


def test_default_cm_on_onnx_matches_torch(tmp_path):
    if default_model("cm") is None:
        pytest.skip("no bundled CM")
    ref = SpoofDetector.from_pretrained().score_files(DEMO_CLIPS)
    onnx = SpoofDetector.from_pretrained(backend="onnx")
    exported = list((tmp_path / "cache" / "onnx").glob("*.onnx"))
    assert len(exported) == 1, "bundled weights export to the cache, never into the package"
    got = onnx.score_files(DEMO_CLIPS)
    np.testing.assert_allclose([g.score for g in got], [r.score for r in ref], atol=1e-4)
    np.testing.assert_allclose([g.calibrated for g in got], [r.calibrated for r in ref], atol=1e-4)
    assert [g.decision for g in got] == [r.decision for r in ref]


def test_default_speaker_model_on_onnx_matches_torch():
    if default_model("spk") is None:
        pytest.skip("no bundled speaker model")
    ref = SpeakerVerifier.from_pretrained()
    onnx = SpeakerVerifier.from_pretrained(backend="onnx")
    for clip in DEMO_CLIPS[:2]:
        np.testing.assert_allclose(onnx.embed_file(clip), ref.embed_file(clip), atol=1e-4)
