"""Every registered model on a CUDA device: the same outputs as on the CPU, finite gradients,
and the official AASIST weights reproducing their reference logits (bf16 and TF32
deviations of the shipped bundles are measured, not asserted: ``benchmarks/bench_gpu.py``).

Run where a GPU is (``pytest -m cuda``); on a machine without one every test here is skipped
with that reason. Full-size models are included (a GPU runs them in milliseconds); models
tagged ``"large"`` (hundreds of millions of parameters) are left out as in
``test_all_models.py``. TF32 is turned off for the parity checks, so the CPU and the GPU both
compute in IEEE fp32 and differ only by summation order.
"""

from __future__ import annotations

import pytest
import torch

import voxguard
from voxguard.models import get_entry
from voxguard.testing.models import model_with_input

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not torch.cuda.is_available(),
        reason="no CUDA device here: these tests check the GPU paths (run `pytest -m cuda` on a GPU machine)",
    ),
]

SECONDS = 2.0
NAMES = [n for n in voxguard.list_models() if "large" not in get_entry(n).tags]


@pytest.fixture(autouse=True)
def _ieee_fp32():
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def _build(name: str) -> tuple[torch.nn.Module, torch.Tensor]:
    built = model_with_input(name, SECONDS)
    if built is None:
        pytest.skip(f"{name}: its task has no single-input forward contract")
    return built


@pytest.mark.parametrize("name", NAMES)
def test_cpu_and_cuda_outputs_agree(name):
    model, x = _build(name)
    model.eval()
    with torch.no_grad():
        on_cpu = model(x)
        on_gpu = model.cuda()(x.cuda()).cpu()
    assert on_gpu.shape == on_cpu.shape
    scale = max(on_cpu.abs().max().item(), 1.0)
    torch.testing.assert_close(on_gpu, on_cpu, rtol=1e-3, atol=1e-4 * scale)


@pytest.mark.parametrize("name", NAMES)
def test_cuda_backward_gives_finite_gradients(name):
    model, x = _build(name)
    model.cuda().train()
    out = model(x.cuda())
    out.float().pow(2).mean().backward()
    bad = [
        n
        for n, p in model.named_parameters()
        if p.requires_grad and p.grad is not None and not p.grad.isfinite().all()
    ]
    assert not bad, f"{name}: non-finite gradients on CUDA in {bad[:10]}"


def test_official_aasist_weights_reproduce_the_reference_logits_on_cuda(shared_dir):
    # known values: the logits the official AASIST code wrote for these inputs (../shared)
    import numpy as np

    from voxguard.models import load_torch_checkpoint

    anchors = shared_dir / "anchors" / "aasist"
    ref = np.load(anchors / "reference_outputs.npz")
    model = voxguard.create_model("aasist").eval()
    model.load_state_dict(load_torch_checkpoint(anchors / "AASIST.pth"), strict=True)
    model.cuda()
    with torch.no_grad():
        logits = model(torch.from_numpy(ref["inputs"]).cuda()).cpu().numpy()
    # the CPU test holds 1e-5 (tests/models/test_aasist.py); the GPU sums in another order
    np.testing.assert_allclose(logits, ref["AASIST_logits"], atol=1e-4, rtol=0)
