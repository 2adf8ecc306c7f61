"""CM dataset: crops, determinism, augmentation, balanced sampling."""

from __future__ import annotations

import numpy as np
import torch

from voxguard.data.manifest import Utterance
from voxguard.training.config import AugmentConfig, DataConfig
from voxguard.training.data import CMDataset, balanced_sampler, load_split


def test_load_split_filters_and_limits(tiny_corpus):
    recs, root = load_split(DataConfig(train=str(tiny_corpus)), "train")
    assert len(recs) == 8 and {r.split for r in recs} == {"train"} and root == tiny_corpus.parent
    recs, _ = load_split(DataConfig(train=str(tiny_corpus), limit=3), "train")
    assert [r.label for r in recs] == ["bonafide", "spoof", "bonafide"]


def test_crops_and_determinism(tiny_corpus):
    recs, root = load_split(DataConfig(train=str(tiny_corpus)), "train")
    ev = CMDataset(recs, root, crop=12000, train=False)
    wav, target = ev[0]
    assert wav.shape == (12000,) and target == 1
    torch.testing.assert_close(wav[8000:], wav[: 12000 - 8000])  # 0.5 s clip tile-repeated
    tr = CMDataset(recs, root, crop=4000, train=True, augment=AugmentConfig(rawboost=4), seed=3)
    a, b = tr[1][0], tr[1][0]
    torch.testing.assert_close(a, b)
    tr.set_epoch(1)
    assert not torch.equal(a, tr[1][0])
    assert a.shape == (4000,) and torch.isfinite(a).all()


def test_balanced_sampler_equalises_classes():
    recs = [Utterance(f"u{i}", "x.wav", label="bonafide" if i == 0 else "spoof") for i in range(10)]
    ds = CMDataset(recs, None)
    draws = []
    sampler = balanced_sampler(ds, seed=0)
    for _ in range(200):
        draws += list(sampler)
    frac = np.mean([recs[i].is_bonafide for i in draws])
    assert abs(frac - 0.5) < 0.03  # 2,000 draws: 3 sigma ≈ 0.034
