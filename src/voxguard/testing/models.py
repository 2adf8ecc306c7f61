"""A registered model with an input that fits it, for tests that run every model."""

from __future__ import annotations

import torch

from voxguard.models import create_model
from voxguard.profiling import example_input, input_length, input_spec


def model_with_input(
    name: str, seconds: float, batch: int = 2, seed: int = 1
) -> tuple[torch.nn.Module, torch.Tensor] | None:
    """``name`` built with seed 0 and a deterministic input of ``seconds`` (waveform or frames,
    by the model's input kind); ``None`` for models without a single-input forward contract
    (a task other than cm / spk and no ``input_kind``, e.g. the SASV fusion)."""
    torch.manual_seed(0)
    model = create_model(name)
    if model.task not in ("cm", "spk") and not hasattr(model, "input_kind"):
        return None
    spec = input_spec(model)
    return model, example_input(spec, input_length(spec, seconds=seconds), batch=batch, seed=seed)
