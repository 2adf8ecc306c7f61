"""Files for tests: saved tiny debug models and a set of good and bad audio files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from voxguard.testing.audio import write_wav


def save_debug_weights(root: Path, cm_calibration: Any = None) -> dict[str, Path]:
    """Weights directories of ``debug_cm`` and ``debug_spk`` with seeded random weights.

    ``cm_calibration`` (an ``AffineCalibrator`` or its JSON path) is bundled with the CM as its
    ``calibration.json``, so that the CM decides on LLRs.
    """
    import torch

    import voxguard

    out = {}
    for name in ("debug_cm", "debug_spk"):
        torch.manual_seed(0)
        cal = cm_calibration if name == "debug_cm" else None
        out[name] = voxguard.save_pretrained(
            voxguard.create_model(name), root / name, calibration=cal
        )
    return out


def write_audio_set(root: Path) -> dict[str, Path]:
    """Good and bad audio files: 2 s and 3 s speech, 30 s speech, corrupt, empty, NaN, text."""
    root.mkdir(parents=True, exist_ok=True)
    files = {
        "good": write_wav(root / "good.wav", 2.0, seed=1),
        "good2": write_wav(root / "good2.flac", 3.0, seed=2),
        "long": write_wav(root / "long.wav", 30.0, seed=3),
    }
    raw = (root / "good2.flac").read_bytes()
    (root / "corrupt.flac").write_bytes(raw[: len(raw) // 2])  # truncated: decoder loses sync
    files["corrupt"] = root / "corrupt.flac"
    (root / "empty.wav").write_bytes(b"")
    files["empty"] = root / "empty.wav"
    sf.write(root / "nan.wav", np.full(16000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    files["nan"] = root / "nan.wav"
    (root / "notes.wav").write_text("this is not audio\n")
    files["text"] = root / "notes.wav"
    return files
