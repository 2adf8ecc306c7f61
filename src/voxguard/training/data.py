"""CM datasets over manifests: AASIST crops, RawBoost / codec augmentation, balanced sampling.

A split is read from a JSONL manifest (filtered by its ``split`` field when the records carry
one) or from an ASVspoof 2019 LA-layout root. Training items are random ``crop``-sample windows
(tile-repeated when short); evaluation items are the first ``crop`` samples (AASIST's
convention). Every random choice is seeded by ``(seed, epoch, index)`` so a run is repeatable
and resumable regardless of worker processes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, WeightedRandomSampler

from voxguard.audio.augment import apply_codec, rawboost
from voxguard.audio.crop import eval_crop, train_crop
from voxguard.audio.io import load_audio
from voxguard.data.manifest import Utterance, read_manifest
from voxguard.training.config import AugmentConfig, ConfigError, DataConfig


def load_split(data: DataConfig, split: str) -> tuple[list[Utterance], Path | None]:
    """Records of ``split`` (``train`` / ``dev`` / ``eval``) and the root their paths are relative to.

    Raises:
        ConfigError: the split's source is not set or holds no records.
    """
    source = getattr(data, split)
    if not source:
        raise ConfigError(f"data.{split} is not set in the config")
    path = Path(source)
    fmt = (
        data.format if data.format != "auto" else ("asvspoof2019" if path.is_dir() else "manifest")
    )
    if fmt == "asvspoof2019":
        from voxguard.data.protocols.asvspoof2019 import load_split as load_la

        records, root = load_la(path, split), None
    else:
        records, root = read_manifest(path), path.parent
        if any(r.split for r in records):
            records = [r for r in records if r.split == split]
    if not records:
        raise ConfigError(f"data.{split} ({source}) has no records of split {split!r}")
    if data.limit is not None:
        records = _stratified_head(records, data.limit)
    return records, root


def _stratified_head(records: list[Utterance], limit: int) -> list[Utterance]:
    """The first ``limit`` records, alternating bona fide and spoof so both classes are present."""
    bona = [r for r in records if r.is_bonafide]
    spoof = [r for r in records if not r.is_bonafide]
    out: list[Utterance] = []
    for i in range(max(len(bona), len(spoof))):
        out += [lst[i] for lst in (bona, spoof) if i < len(lst)]
    return out[:limit]


class CMDataset(Dataset):
    """``(wav (crop,), target)`` items; target 1 = bona fide, 0 = spoof.

    Args:
        records: manifest records.
        root: folder that relative record paths are joined to.
        crop: samples per item.
        train: random crops + augmentation (else first-``crop`` eval crops, no augmentation).
        augment: RawBoost / codec settings (training only).
        seed: base seed of all random choices.
    """

    def __init__(
        self,
        records: list[Utterance],
        root: Path | None,
        crop: int = 64600,
        train: bool = True,
        augment: AugmentConfig | None = None,
        seed: int = 0,
        sample_rate: int = 16000,
    ) -> None:
        self.records = records
        self.root = root
        self.crop = crop
        self.train = train
        self.augment = augment or AugmentConfig()
        self.seed = seed
        self.sample_rate = sample_rate
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Change the random stream (call once per epoch)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        rec = self.records[index]
        wav, _ = load_audio(rec.resolve(self.root), self.sample_rate)
        if not self.train:
            return torch.from_numpy(eval_crop(wav, self.crop).copy()), rec.target
        rng = np.random.default_rng((self.seed, self.epoch, index))
        wav = train_crop(wav, self.crop, rng)
        aug = self.augment
        if aug.codecs and aug.codec_prob > 0 and rng.random() < aug.codec_prob:
            wav = apply_codec(wav, aug.codecs[int(rng.integers(len(aug.codecs)))], self.sample_rate)
        if aug.rawboost:
            wav = rawboost(wav, aug.rawboost, rng, self.sample_rate)
        return torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32)), rec.target

    def targets(self) -> np.ndarray:
        """Class index of every item."""
        return np.array([r.target for r in self.records], dtype=np.int64)


def balanced_sampler(dataset: CMDataset, seed: int = 0) -> WeightedRandomSampler:
    """Draw both classes equally often (with replacement), ``len(dataset)`` items per epoch."""
    targets = dataset.targets()
    counts = np.bincount(targets, minlength=2).astype(np.float64)
    if (counts == 0).any():
        raise ConfigError("the balanced sampler needs both bona fide and spoof training items")
    weights = torch.as_tensor(1.0 / counts[targets], dtype=torch.double)
    gen = torch.Generator().manual_seed(seed)
    return WeightedRandomSampler(weights, num_samples=len(targets), replacement=True, generator=gen)


def class_weight_tensor(weights: list[float] | None) -> torch.Tensor | None:
    """Cross-entropy class weights ``[spoof, bona fide]`` (``None`` = unweighted)."""
    if weights is None:
        return None
    return torch.tensor(weights, dtype=torch.float32)
