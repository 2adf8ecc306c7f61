"""The compact speaker-training loop: feature cache round trip, AAM training, attention KD."""

from __future__ import annotations

import json

import torch

import voxguard
from voxguard.testing.audio import write_wav
from voxguard.training.spk import (
    FeatureCache,
    SpkTrainConfig,
    build_feature_cache,
    embed_cache,
    train_speaker_model,
)

SMALL = {
    "stem_channels": 8,
    "channels": (8, 8, 8, 8),
    "conv_blocks": (1, 1),
    "cmt_blocks": (1, 1),
    "heads": 2,
    "embed_dim": 16,
    "pool_bottleneck": 8,
}


def _cache(tmp_path) -> FeatureCache:
    entries = []
    for i in range(6):
        write_wav(tmp_path / f"u{i}.wav", seconds=0.6, seed=i)
        entries.append({"path": f"u{i}.wav", "utt": f"u{i}", "speaker": f"s{i % 3}"})
    cache = build_feature_cache(entries, tmp_path)
    cache.save(tmp_path / "c.safetensors")
    return FeatureCache.load(tmp_path / "c.safetensors")


def test_cache_round_trip_matches_frontend(tmp_path):
    cache = _cache(tmp_path)
    assert len(cache) == 6 and cache.speakers[:3] == ["s0", "s1", "s2"]
    assert cache.get(0).shape == (58, 80)  # 1 + (9600 - 400) // 160 frames


def test_train_then_distil(tmp_path):
    cache = _cache(tmp_path)
    cfg = SpkTrainConfig(model="bccmt_tiny", overrides=SMALL, steps=3, batch_size=4, crop_frames=40)
    teacher = train_speaker_model(cfg, cache, tmp_path / "teacher")
    log = [json.loads(x) for x in (tmp_path / "teacher" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [0, 1, 2] and all(r["kd"] == 0.0 for r in log)
    reloaded = voxguard.load_pretrained(tmp_path / "teacher")
    torch.testing.assert_close(embed_cache(reloaded, cache), embed_cache(teacher, cache))
    kd_cfg = SpkTrainConfig(
        model="bccmt_tiny",
        overrides=SMALL,
        steps=2,
        batch_size=4,
        crop_frames=40,
        kd_teacher=str(tmp_path / "teacher"),
    )
    train_speaker_model(kd_cfg, cache, tmp_path / "student")
    log = [json.loads(x) for x in (tmp_path / "student" / "log.jsonl").read_text().splitlines()]
    assert all(r["kd"] > 0.0 for r in log)
