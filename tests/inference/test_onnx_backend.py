"""ONNX Runtime backend: parity with torch, export caching, bare .onnx files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import voxguard
from voxguard.api import SpeakerVerifier, SpoofDetector

pytest.importorskip("onnxruntime")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VOXGUARD_CACHE", str(tmp_path / "cache"))


def test_onnx_detector_matches_torch_and_reuses_the_export(debug_weights, audio_files, tmp_path):
    weights = shutil.copytree(debug_weights["debug_cm"], tmp_path / "cm")
    files = [audio_files["good"], audio_files["long"], audio_files["nan"], audio_files["good2"]]
    ref = SpoofDetector.from_pretrained(weights).score_files(files)
    onnx = SpoofDetector.from_pretrained(weights, backend="onnx")
    got = onnx.score_files(files)
    exported = weights / "model.onnx"
    assert exported.is_file()
    assert [g.error is None for g in got] == [True, True, False, True]
    np.testing.assert_allclose([g.score for g in got], [r.score for r in ref], atol=1e-4)
    mtime = exported.stat().st_mtime_ns
    again = SpoofDetector.from_pretrained(weights, backend="onnx")
    assert exported.stat().st_mtime_ns == mtime
    assert again.score_file(files[0]).score == pytest.approx(ref[0].score, abs=1e-4)


def test_bare_onnx_file_runs_without_a_torch_model(debug_weights, audio_files, tmp_path):
    weights = shutil.copytree(debug_weights["debug_cm"], tmp_path / "cm")
    SpoofDetector.from_pretrained(weights, backend="onnx")
    bare = SpoofDetector.from_pretrained(weights / "model.onnx", backend="onnx")
    assert bare.model is None and bare.name == "debug_cm"
    ref = SpoofDetector.from_pretrained(weights).score_file(audio_files["good2"]).score
    assert bare.score_file(audio_files["good2"]).score == pytest.approx(ref, abs=1e-4)
    with pytest.raises(voxguard.WeightsError, match="backend='onnx'"):
        SpoofDetector.from_pretrained(weights / "model.onnx")


def test_foreign_weights_file_is_exported_to_the_cache(debug_weights, audio_files, tmp_path):
    import torch

    state = voxguard.load_pretrained(debug_weights["debug_cm"]).state_dict()
    torch.save(state, tmp_path / "w.pth")
    det = SpoofDetector.from_pretrained("debug_cm", weights=tmp_path / "w.pth", backend="onnx")
    assert not (tmp_path / "w.onnx").exists()
    assert len(list((tmp_path / "cache" / "onnx").glob("debug_cm-*.onnx"))) == 1
    ref = (
        SpoofDetector.from_pretrained(debug_weights["debug_cm"])
        .score_file(audio_files["good"])
        .score
    )
    assert det.score_file(audio_files["good"]).score == pytest.approx(ref, abs=1e-4)


def test_onnx_speaker_embeddings_match_torch(debug_weights, audio_files, tmp_path):
    weights = shutil.copytree(debug_weights["debug_spk"], tmp_path / "spk")
    ref = SpeakerVerifier.from_pretrained(weights)
    onnx = SpeakerVerifier.from_pretrained(weights, backend="onnx")
    for key in ("good", "long"):
        np.testing.assert_allclose(
            onnx.embed_file(audio_files[key]), ref.embed_file(audio_files[key]), atol=1e-4
        )


@pytest.mark.slow  # the AASIST export takes ~30 s on a shared CPU
def test_onnx_aasist_matches_the_official_reference(shared_dir, tmp_path):
    anchors = shared_dir / "anchors" / "aasist"
    ref = np.load(anchors / "reference_outputs.npz")
    det = SpoofDetector.from_pretrained("aasist", weights=anchors / "AASIST.pth", backend="onnx")
    assert not (anchors / "AASIST.onnx").exists()
    got = det.score_arrays(list(ref["inputs"]))
    expected = ref["AASIST_logits"][:, 1] - ref["AASIST_logits"][:, 0]
    np.testing.assert_allclose([g.score for g in got], expected, atol=1e-3)
