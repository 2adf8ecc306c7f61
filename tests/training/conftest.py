"""A tiny learnable CM corpus: bona fide = synthetic speech, spoof = the same through a buzz."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxguard.audio.io import save_audio
from voxguard.data.manifest import Utterance, write_manifest
from voxguard.testing.audio import synthetic_speech


def make_corpus(root: Path, per_split: int = 8) -> Path:
    """``root/manifest.jsonl`` with train/dev/eval splits of 0.5 s clips (half bona fide)."""
    records = []
    for s, split in enumerate(("train", "dev", "eval")):
        for i in range(per_split):
            seed = 100 * s + i
            wav = synthetic_speech(0.5, 16000, seed=seed)
            label = "bonafide" if i % 2 == 0 else "spoof"
            if label == "spoof":
                t = np.arange(len(wav)) / 16000
                wav = (0.5 * wav + 0.2 * np.sign(np.sin(2 * np.pi * 3000 * t))).astype(np.float32)
            path = f"{split}/{split}_{i}.flac"
            save_audio(root / path, wav, 16000)
            records.append(
                Utterance(
                    f"{split}_{i}",
                    path,
                    f"spk{i % 2}",
                    label=label,
                    attack="-" if label == "bonafide" else "X1",
                    split=split,
                )
            )
    return write_manifest(records, root / "manifest.jsonl")


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture
def tiny_config(tmp_path, tiny_corpus) -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"model: debug_cm\n"
        f"data: {{train: {tiny_corpus}, dev: {tiny_corpus}, eval: {tiny_corpus}, crop: 8000}}\n"
        f"epochs: 2\nbatch_size: 4\neval_batch_size: 8\naverage_best: 2\n"
        f"optim: {{lr: 1.0e-2}}\nout_dir: {tmp_path / 'run'}\n"
    )
    return cfg
