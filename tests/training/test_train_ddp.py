"""DDP: two CPU processes on gloo, launched with torchrun, train the debug model together."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from voxguard.training import ddp


def test_single_process_context(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    ctx = ddp.init("cpu")
    assert ctx.is_main and not ctx.distributed and ddp.mean_across(2.5, ctx) == 2.5
    model = torch.nn.Linear(2, 2)
    assert ddp.wrap(model, ctx) is model and ddp.unwrap(model) is model


def test_torchrun_two_cpu_processes(tiny_config, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    out = tmp_path / "ddp"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "voxguard.cli.main",
        "train",
        str(tiny_config),
        "--no-progress",
        "--out",
        str(out),
        "--set",
        "device=cpu",
        "--set",
        "batch_size=2",
        "--set",
        "average_best=1",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=170, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]  # written once, by rank 0
    assert proc.stdout.count('"run_dir"') == 1
    # 8 training items over 2 ranks × batch 2 = 2 steps per epoch per rank; the averaged
    # export equals the best epoch's weights
    best = min(rows, key=lambda r: (r["dev_eer"], r["dev_loss"], -r["epoch"]))["epoch"]
    final = load_file(str(out / "model" / "model.safetensors"))
    ckpt = load_file(str(out / "checkpoints" / f"epoch_{best:03d}.safetensors"))
    for key in final:
        torch.testing.assert_close(final[key], ckpt[key])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_cuda_without_a_gpu_is_refused_clearly():
    from voxguard.training.ddp import pick_device

    with pytest.raises(ValueError, match="no CUDA device"):
        pick_device("cuda")
    assert pick_device("auto").type == "cpu"
