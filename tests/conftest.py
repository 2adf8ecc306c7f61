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
