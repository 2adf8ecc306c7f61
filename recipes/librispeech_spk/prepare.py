"""Compute fbank features once: train (librispeech-mini + cohort) and test (test-other) caches.

Usage: python prepare.py DATA_DIR OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from voxguard.training.spk import build_feature_cache

TRAIN_CORPORA = ("librispeech-mini", "librispeech-cohort")
TEST_CORPUS = "librispeech-test-other"


def main(data_dir: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    entries = [
        json.loads(line)
        for line in (Path(data_dir) / "manifest.jsonl").read_text().splitlines()
        if line
    ]
    train = [e for e in entries if e["corpus"] in TRAIN_CORPORA]
    test = [e for e in entries if e["corpus"] == TEST_CORPUS]
    assert not {e["speaker"] for e in train} & {e["speaker"] for e in test}, "speakers overlap"
    build_feature_cache(test, data_dir, progress=True).save(out / "test.safetensors")
    build_feature_cache(train, data_dir, progress=True).save(out / "train.safetensors")


if __name__ == "__main__":
    main(*sys.argv[1:3])
