"""SpoofDetector / SpeakerVerifier / SASVSystem on the tiny debug models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import voxguard
from voxguard.api import (
    SASVSystem,
    SpeakerVerifier,
    SpoofDetector,
    cosine,
    load_embedding,
    save_embedding,
)
from voxguard.audio import eval_crop, load_audio, resample
from voxguard.errors import AudioError, VoxguardError, WeightsError
from voxguard.scoring.calibration import AffineCalibrator
from voxguard.testing.audio import synthetic_speech


def _direct_score(model: torch.nn.Module, samples: np.ndarray) -> float:
    with torch.no_grad():
        logits = model(torch.from_numpy(eval_crop(samples))[None])[0].numpy()
    return float(logits[1] - logits[0])


@pytest.fixture(scope="module")
def detector(debug_weights):
    return SpoofDetector.from_pretrained(debug_weights["debug_cm"])


@pytest.fixture(scope="module")
def verifier(debug_weights):
    return SpeakerVerifier.from_pretrained(debug_weights["debug_spk"])


def test_score_array_and_file_agree_with_the_model(detector, debug_weights, audio_files):
    model = voxguard.load_pretrained(debug_weights["debug_cm"])
    samples = load_audio(audio_files["good"])[0]
    expected = _direct_score(model, samples)
    assert detector.score_array(samples).score == pytest.approx(expected, abs=1e-5)
    det = detector.score_file(audio_files["good"])
    assert det.score == pytest.approx(expected, abs=1e-5)
    assert det.n_windows == 1 and det.duration_s == pytest.approx(2.0)
    assert det.decision is None and det.calibrated is None


def test_score_array_resamples_other_rates(detector):
    x8k = synthetic_speech(2.0, sample_rate=8000, seed=5)
    direct = detector.score_array(resample(x8k, 8000, 16000)).score
    assert detector.score_array(x8k, sample_rate=8000).score == pytest.approx(direct, abs=1e-6)


def test_bad_array_and_file_raise_audio_errors(detector, audio_files):
    with pytest.raises(AudioError, match="NaN"):
        detector.score_array(np.full(1000, np.nan, dtype=np.float32))
    with pytest.raises(AudioError, match="empty"):
        detector.score_file(audio_files["empty"])


def test_weights_as_safetensors_and_pth_files_load_strictly(debug_weights, tmp_path, audio_files):
    model = voxguard.load_pretrained(debug_weights["debug_cm"])
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp_path / "w.safetensors"))
    torch.save(state, tmp_path / "w.pth")
    expected = _direct_score(model, load_audio(audio_files["good"])[0])
    for path in (tmp_path / "w.safetensors", tmp_path / "w.pth"):
        det = SpoofDetector.from_pretrained("debug_cm", weights=path)
        assert det.score_file(audio_files["good"]).score == pytest.approx(expected, abs=1e-5)
        assert "higher = bona fide" in det.card["polarity"]
    torch.save({k: v for k, v in state.items() if "out" not in k}, tmp_path / "partial.pth")
    with pytest.raises(WeightsError, match="do not fit"):
        SpoofDetector.from_pretrained("debug_cm", weights=tmp_path / "partial.pth")


def test_missing_weights_and_wrong_task_are_clear_errors(debug_weights):
    with pytest.raises(WeightsError, match="random_init=True"):
        SpoofDetector.from_pretrained("debug_cm")
    with pytest.raises(WeightsError, match="not a countermeasure model"):
        SpoofDetector.from_pretrained(debug_weights["debug_spk"])


def test_calibrated_decisions(debug_weights, audio_files):
    cal = AffineCalibrator(scale=1.5, offset=0.25)
    det = SpoofDetector.from_pretrained(debug_weights["debug_cm"], calibration=cal)
    res = det.score_files([audio_files["good"], audio_files["text"], audio_files["good2"]])
    assert res[1].error is not None and np.isnan(res[1].score)
    for r in (res[0], res[2]):
        assert r.calibrated == pytest.approx(1.5 * r.score + 0.25)
        assert r.decision == ("bonafide" if r.calibrated >= 0 else "spoof")
    strict = SpoofDetector.from_pretrained(
        debug_weights["debug_cm"], calibration=cal, threshold=1e9
    )
    assert strict.score_file(audio_files["good"]).decision == "spoof"


def test_enroll_is_mean_embedding_and_verify_is_cosine(
    verifier, debug_weights, audio_files, tmp_path
):
    model = voxguard.load_pretrained(debug_weights["debug_spk"])
    with torch.no_grad():
        embs = [
            model(torch.from_numpy(load_audio(audio_files[k])[0])[None])[0].numpy()
            for k in ("good", "good2")
        ]
    enrollment = verifier.enroll([audio_files["good"], audio_files["good2"]])
    np.testing.assert_allclose(enrollment, np.mean(embs, axis=0), atol=1e-5)
    long = verifier.embed_file(audio_files["long"])
    trial = verifier.verify(enrollment, audio_files["long"])
    expected = float(np.dot(enrollment, long) / np.linalg.norm(enrollment) / np.linalg.norm(long))
    assert trial.score == pytest.approx(expected, abs=1e-6)
    assert trial.decision is None
    save_embedding(tmp_path / "spk.npy", enrollment)
    np.testing.assert_array_equal(load_embedding(tmp_path / "spk.npy"), enrollment)
    with pytest.raises(VoxguardError, match="at least one"):
        verifier.enroll([])


def test_cosine_of_known_vectors():
    assert cosine(np.array([1.0, 0.0]), np.array([1.0, 1.0])) == pytest.approx(2**-0.5)
    assert cosine(np.array([1.0, 2.0]), np.array([-2.0, -4.0])) == pytest.approx(-1.0)


def test_sasv_cascade_accepts_only_bonafide_targets(detector, verifier, audio_files):
    system = SASVSystem(detector, verifier)
    enrollment = system.enroll([audio_files["good"]])
    res = system.verify(enrollment, audio_files["good2"])
    cm = detector.score_file(audio_files["good2"]).score
    asv = verifier.score(enrollment, audio_files["good2"])
    assert res.cm_score == pytest.approx(cm) and res.asv_score == pytest.approx(asv)
    assert res.fused == pytest.approx(min(cm, asv))
    assert res.decision == ("accept" if cm >= 0 and asv >= 0 else "reject")


def test_sasv_sum_fusion_needs_calibration(detector, verifier):
    with pytest.raises(VoxguardError, match="calibrat"):
        SASVSystem(detector, verifier, fusion="sum")
