"""Checkpoint records, ranking and averaging."""

from __future__ import annotations

import json

import torch
from safetensors.torch import save_file

from voxguard.training import checkpoint as ckpt


def test_average_and_rank(tmp_path):
    for epoch, (w, eer) in enumerate([(1.0, 0.3), (3.0, 0.1), (5.0, 0.2)], 1):
        path = ckpt.checkpoint_path(tmp_path, epoch)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file({"w": torch.full((2,), w), "n": torch.tensor(epoch)}, str(path))
        path.with_suffix(".json").write_text(json.dumps({"epoch": epoch, "dev_eer": eer}))
    ranked = [m["epoch"] for _, m in ckpt.rank_checkpoints(tmp_path)]
    assert ranked == [2, 3, 1]
    avg = ckpt.average_state_dicts([p for p, _ in ckpt.rank_checkpoints(tmp_path)[:2]])
    torch.testing.assert_close(avg["w"], torch.full((2,), 4.0))
    assert avg["n"].item() == 2  # integer buffers are taken from the best, not averaged
    ckpt.prune_checkpoints(tmp_path, 1)
    assert [m["epoch"] for _, m in ckpt.rank_checkpoints(tmp_path)] == [2]


def test_versions_and_resume(tmp_path):
    v = ckpt.versions()
    assert v["torch"] == torch.__version__ and set(v) >= {
        "voxguard",
        "numpy",
        "python",
        "git_commit",
    }
    assert ckpt.load_resume(tmp_path) is None
    ckpt.save_resume(tmp_path, {"epoch": 3, "model": {"a": torch.ones(1)}, "history": ["{}"]})
    assert ckpt.load_resume(tmp_path)["epoch"] == 3
