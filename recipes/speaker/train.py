"""Distil a speaker model from the GE2E teacher's precomputed embeddings (resumable).

Usage: python train.py CONFIG.yaml CACHE_DIR OUT_DIR
(stop early: ``touch OUT_DIR/STOP``; rerun the same command to resume from ``OUT_DIR/last.pt``)
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from voxguard.training.spk import FeatureCache
from voxguard.training.spk_distill import CropBank, DistillConfig, train_distill
from voxguard.training.teacher import GE2E_SOURCE


def main(config: str, cache_dir: str, out_dir: str) -> None:
    cfg = DistillConfig.from_dict(yaml.safe_load(Path(config).read_text()))
    bank = CropBank(cache_dir)
    dev = FeatureCache.load(Path(cache_dir) / "dev.safetensors")
    full = Path(cache_dir) / "dev_full.safetensors"  # all dev utterances (precompute.py)
    dev_full = FeatureCache.load(full) if full.is_file() else None
    print(
        f"{len(bank)} crops ({bank.seconds() / 3600:.2f} h) from {bank.n_shards} shards; "
        f"dev {len(dev)} utterances" + (f", dev_full {len(dev_full)}" if dev_full else ""),
        flush=True,
    )
    card = {
        "sample_rate": 16000,
        "frontend": "Kaldi fbank, 80 mel bins, 25 ms / 10 ms, povey, pre-emphasis 0.97, CMN "
        "(voxguard Fbank)",
        "teacher": GE2E_SOURCE,
        "training_data": "LibriSpeech (CC BY 4.0) librispeech-mini + librispeech-cohort minus the "
        "dev speakers; FSDD (CC BY-SA 4.0) 1,000 utterances; augmented 1-4 s crops",
        "recipe": "recipes/speaker",
        "distill": {k: v for k, v in vars(cfg).items()},
        "train_crops": len(bank),
    }
    train_distill(cfg, bank, dev, out_dir, card, dev_full)


if __name__ == "__main__":
    main(*sys.argv[1:4])
