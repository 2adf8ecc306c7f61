"""Multiply-accumulate counts: ``torch.utils.flop_counter.FlopCounterMode`` FLOPs / 2, completed.

``FlopCounterMode`` counts matrix products (mm, addmm, bmm, baddbmm, so also linear, matmul and
einsum, which decompose to them) and convolutions, at 2 FLOPs per multiply-accumulate. On CPU it
misses three things that matter here, which this module adds:

- the fused CPU attention kernel ``aten._scaled_dot_product_flash_attention_for_cpu`` behind
  ``F.scaled_dot_product_attention``: counted as its two batched products (Q·Kᵀ and A·V);
- the fast paths of ``nn.MultiheadAttention`` / ``nn.TransformerEncoderLayer`` in eval mode:
  switched off while counting, so they run as linear + SDPA and are counted;
- recurrent layers (``nn.LSTM``, ``nn.GRU``, ``nn.RNN``), which run as ``mkldnn_rnn_layer``:
  counted analytically as (number of weight-matrix entries) × (time steps × batch), replacing
  whatever the counter saw inside the module;
- matrix-vector and dot products (``aten.mv``, ``aten.addmv``, ``aten.dot``).

Element-wise work (activations, normalisation, softmax, pooling, masking) is not counted, as
in every standard MAC counter. FFTs (``torch.stft``) are not counted either; they are listed in
:attr:`MacReport.uncounted_ops` when they run.
"""

from __future__ import annotations

import math
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

aten = torch.ops.aten

MAC_COUNTER = (
    "torch.utils.flop_counter.FlopCounterMode FLOPs / 2 "
    "(+ CPU fused attention, + analytic LSTM/GRU/RNN, + mv/dot)"
)

# FFT ops whose cost is not counted but worth reporting.
_WATCHED = (aten._fft_r2c, aten._fft_c2r, aten._fft_c2c)


def _sdpa_cpu_flops(query: Any, key: Any, value: Any, *args: Any, **kwargs: Any) -> int:
    """FLOPs of Q·Kᵀ and A·V for (B, H, Lq, E) queries and (B, H, Lk, E) keys/values."""
    *batch, lq, e = query
    lk, ev = key[-2], value[-1]
    b = math.prod(batch)
    return 2 * b * lq * lk * e + 2 * b * lq * lk * ev


def _mv_flops(a: Any, v: Any, *args: Any, **kwargs: Any) -> int:
    return 2 * a[0] * a[1]


def _addmv_flops(bias: Any, a: Any, v: Any, *args: Any, **kwargs: Any) -> int:
    return 2 * a[0] * a[1]


def _dot_flops(a: Any, b: Any, *args: Any, **kwargs: Any) -> int:
    return 2 * a[0]


def _zero(*args: Any, **kwargs: Any) -> int:
    return 0


_CUSTOM = {
    aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_cpu_flops,
    aten.mv: _mv_flops,
    aten.addmv: _addmv_flops,
    aten.dot: _dot_flops,
    aten.vdot: _dot_flops,
    **{op: _zero for op in _WATCHED},
}


@dataclass
class MacReport:
    """MACs of one forward pass.

    Attributes:
        total: MACs of the whole forward pass.
        per_module: MACs by module path (``""`` is the model, ``"backend.encoder"`` a child).
        uncounted_ops: ops that ran but have no MAC formula (e.g. FFTs).
    """

    total: int
    per_module: dict[str, int] = field(default_factory=dict)
    uncounted_ops: list[str] = field(default_factory=list)

    def of(self, path: str) -> int:
        """MACs spent inside the module at ``path`` (0 when it never ran)."""
        return self.per_module.get(path, 0)


def rnn_macs(module: nn.RNNBase, steps: int) -> int:
    """Analytic MACs of a recurrent layer over ``steps`` = sum of sequence lengths in the batch.

    Every time step multiplies each weight matrix (input-hidden, hidden-hidden and, for
    ``proj_size`` LSTMs, the projection) of every layer and direction with a vector once.
    """
    per_step = sum(p.numel() for n, p in module.named_parameters() if n.startswith("weight_"))
    return per_step * steps


def _rnn_steps(module: nn.RNNBase, inputs: tuple[Any, ...]) -> int:
    x = inputs[0]
    if isinstance(x, nn.utils.rnn.PackedSequence):
        return int(x.data.shape[0])
    if x.dim() == 2:  # unbatched (T, D)
        return int(x.shape[0])
    return int(x.shape[0] * x.shape[1])


@contextmanager
def _no_attention_fastpath():
    """Run nn.MultiheadAttention / TransformerEncoderLayer through their countable path."""
    mha = getattr(torch.backends, "mha", None)
    if mha is None or not hasattr(mha, "set_fastpath_enabled"):
        yield
        return
    before = mha.get_fastpath_enabled()
    mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        mha.set_fastpath_enabled(before)


def count_macs(model: nn.Module, *inputs: torch.Tensor, **kwargs: Any) -> MacReport:
    """Count the MACs of ``model(*inputs, **kwargs)`` (one forward pass, no gradients).

    The model is run in its current train/eval mode; call ``model.eval()`` first for
    inference figures (graph pooling ratios, dropout and batch norm depend on it).
    """
    root = type(model).__name__
    names = {m: (f"{root}.{n}" if n else root) for n, m in model.named_modules()}
    paths = {m: n for n, m in model.named_modules()}
    rnn_steps: dict[nn.Module, int] = defaultdict(int)

    def hook(mod: nn.Module, args: tuple[Any, ...]) -> None:
        rnn_steps[mod] += _rnn_steps(mod, args)

    handles = [
        m.register_forward_pre_hook(hook) for m in model.modules() if isinstance(m, nn.RNNBase)
    ]
    counter = FlopCounterMode(display=False, custom_mapping=_CUSTOM)
    try:
        with torch.no_grad(), _no_attention_fastpath(), counter:
            model(*inputs, **kwargs)
    finally:
        for h in handles:
            h.remove()
    counts = counter.get_flop_counts()
    uncounted = sorted({str(op) for ops in counts.values() for op in ops if op in _WATCHED})
    per_module = {
        paths[m]: sum(counts.get(name, {}).values()) // 2
        for m, name in names.items()
        if name in counts
    }
    total = sum(counts.get("Global", {}).values()) // 2
    # Replace what the counter saw inside recurrent layers by the analytic count.
    for rnn, steps in rnn_steps.items():
        path = paths[rnn]
        delta = rnn_macs(rnn, steps) - per_module.get(path, 0)
        total += delta
        for ancestor in _ancestors(path):
            per_module[ancestor] = per_module.get(ancestor, 0) + delta
    return MacReport(total=total, per_module=per_module, uncounted_ops=uncounted)


def _ancestors(path: str) -> list[str]:
    """``"a.b.c"`` -> ``["", "a", "a.b", "a.b.c"]``."""
    parts = path.split(".") if path else []
    return [".".join(parts[:i]) for i in range(len(parts) + 1)]
