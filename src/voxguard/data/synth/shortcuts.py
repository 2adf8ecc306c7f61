"""Does a trivial classifier separate bona fide from spoof? (It should not.)

A benchmark whose classes differ in duration, leading silence, loudness or bandwidth teaches
a countermeasure those cues instead of spoofing artefacts. :func:`shortcut_report` fits a
logistic regression on five trivial features of the ``train`` split — duration, leading and
trailing silence (energy VAD), RMS level (dBFS) and the 85 % spectral roll-off — and reports
its EER on every split. Near 50 % is the goal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxguard.audio.io import load_audio
from voxguard.data.manifest import Utterance
from voxguard.data.synth.channels import speech_bounds
from voxguard.metrics.det import eer

FEATURES = ("duration_s", "lead_silence_s", "trail_silence_s", "rms_dbfs", "rolloff85_hz")


def trivial_features(wav: np.ndarray, sr: int = 16000) -> np.ndarray:
    """The five trivial features of one signal (see :data:`FEATURES`)."""
    a, b = speech_bounds(wav)
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) + 1e-12
    spec = np.abs(np.fft.rfft(wav.astype(np.float64))) ** 2
    cum = np.cumsum(spec)
    k = int(np.searchsorted(cum, 0.85 * cum[-1])) if cum[-1] > 0 else 0
    rolloff = k * sr / max(len(wav), 1)
    return np.array([len(wav) / sr, a / sr, (len(wav) - b) / sr, 20 * np.log10(rms), rolloff])


def _fit_logistic(x: np.ndarray, y: np.ndarray, steps: int = 2000, lr: float = 0.5) -> np.ndarray:
    w = np.zeros(x.shape[1] + 1)
    xb = np.c_[x, np.ones(len(x))]
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -30, 30)))
        w -= lr * (xb.T @ (p - y) / len(y) + 1e-3 * np.r_[w[:-1], 0])
    return w


def shortcut_report(records: list[Utterance], root: str | Path) -> dict[str, dict[str, float]]:
    """EER per split of a logistic regression on trivial features fitted on ``train``.

    Also gives each single feature's EER per split (its better polarity), so a report says
    which cue, if any, leaks the label.
    """
    feats = {}
    for r in records:
        wav, sr = load_audio(r.resolve(root))
        feats[r.utt] = trivial_features(wav, sr)
    splits = sorted({r.split for r in records if r.split})
    train = [r for r in records if r.split == "train"]
    x_tr = np.stack([feats[r.utt] for r in train])
    mu, sd = x_tr.mean(0), x_tr.std(0) + 1e-9
    y_tr = np.array([r.label == "bonafide" for r in train], dtype=float)
    w = _fit_logistic((x_tr - mu) / sd, y_tr)
    out: dict[str, dict[str, float]] = {}
    for split in splits:
        part = [r for r in records if r.split == split]
        x = (np.stack([feats[r.utt] for r in part]) - mu) / sd
        y = np.array([r.label == "bonafide" for r in part])
        if y.all() or not y.any():
            continue
        s = np.c_[x, np.ones(len(x))] @ w
        row = {"n": len(part), "logistic_eer": float(eer(s[y], s[~y])[0])}
        for j, name in enumerate(FEATURES):
            e = float(eer(x[y, j], x[~y, j])[0])
            row[f"{name}_eer"] = min(e, 1 - e)
        out[split] = row
    return out
