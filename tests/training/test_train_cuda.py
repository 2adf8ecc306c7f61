"""The CM training loop on a CUDA device with mixed precision (``amp: true``, the default).

Skipped without a GPU (run ``pytest -m cuda`` on a GPU machine). Checks what only a GPU run
exercises: fp16 autocast with the gradient scaler, pinned-memory loading, checkpoints written
from device tensors, the averaged model saved and loadable on a CPU, the eval scores written
by the run reproduced by that CPU model, and a resume on the GPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from voxguard.audio.crop import eval_crop
from voxguard.audio.io import load_audio
from voxguard.data.manifest import read_manifest
from voxguard.data.scorefiles import read_cm_scores
from voxguard.models import load_pretrained
from voxguard.training.config import load_config
from voxguard.training.loop import train

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not torch.cuda.is_available(),
        reason="no CUDA device here: these tests check the GPU paths (run `pytest -m cuda` on a GPU machine)",
    ),
]


def test_amp_training_on_cuda_writes_a_cpu_loadable_model(tiny_config, tmp_path):
    cfg = load_config(tiny_config, ["device=cuda", "amp=true"])
    result = train(cfg, progress=False)
    run = result.run_dir
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert all(np.isfinite(r["train_loss"]) and 0 <= r["dev_eer"] <= 1 for r in rows)
    model = load_pretrained(run / "model").eval()
    assert all(p.device.type == "cpu" for p in model.parameters())
    scores = read_cm_scores(run / "scores_eval.tsv")
    manifest = cfg.data.eval
    recs = [r for r in read_manifest(manifest) if r.split == "eval"]
    torch.backends.cudnn.allow_tf32 = False
    for k in (0, len(recs) - 1):
        wav, _ = load_audio(recs[k].resolve(Path(manifest).parent))
        with torch.no_grad():
            logits = model(torch.from_numpy(eval_crop(wav, 8000).copy())[None])
        # scored on the GPU in fp32 (TF32 convolutions allowed there), re-scored here on the CPU
        assert np.isclose(scores.scores[k], (logits[0, 1] - logits[0, 0]).item(), atol=1e-2)


def test_amp_training_on_cuda_resumes(tiny_config, tmp_path):
    out = tmp_path / "resumed"
    train(load_config(tiny_config, ["device=cuda", f"out_dir={out}", "epochs=1"]), progress=False)
    result = train(load_config(tiny_config, ["device=cuda", f"out_dir={out}"]), progress=False)
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]  # epoch 1 kept, epoch 2 trained after the resume
    assert (result.model_dir / "model.safetensors").is_file()
