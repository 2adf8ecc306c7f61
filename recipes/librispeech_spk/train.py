"""Train one speaker model from a YAML config on the cached features.

Usage: python train.py CONFIG.yaml CACHE_DIR OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from voxguard.training.spk import FeatureCache, SpkTrainConfig, train_speaker_model


def main(config: str, cache_dir: str, out_dir: str) -> None:
    cfg = SpkTrainConfig.from_dict(yaml.safe_load(Path(config).read_text()))
    cache = FeatureCache.load(Path(cache_dir) / "train.safetensors")
    card = {
        "training_data": "librispeech-mini (28 speakers) + librispeech-cohort (251 speakers), "
        "LibriSpeech CC BY 4.0",
        "licence": "weights: MIT; training data CC BY 4.0",
    }
    train_speaker_model(cfg, cache, out_dir, card=card, log_file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:4])
