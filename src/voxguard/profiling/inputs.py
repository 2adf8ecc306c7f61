"""What a model eats, and example inputs of a given duration for profiling, export and tests.

A model states its input kind with two optional attributes:

- ``model.input_kind = "waveform"`` (the default): ``forward(wav (B, T), lengths=None)`` at
  ``model.sample_rate`` (or ``model.config.sample_rate``, default 16 kHz);
- ``model.input_kind = "features"`` with ``model.feature_dim = D``: ``forward(feats (B, T', D),
  lengths=None)``, e.g. an SSL graph backend; ``model.frame_rate`` (default 50 frames/s, the
  SSL frame rate) converts seconds to frames.

Models without ``input_kind`` whose ``forward`` names its first argument ``feats`` or
``features`` are treated as feature models, with ``feature_dim`` taken from ``config.in_dim``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch
from torch import nn

from voxguard.errors import VoxguardError

#: AASIST convention: 64,600 samples (4.0375 s at 16 kHz), the default waveform length.
DEFAULT_SAMPLES = 64_600
#: Default number of feature frames (64,600 samples through a 20 ms SSL frame rate).
DEFAULT_FRAMES = 201
DEFAULT_FRAME_RATE = 50.0


class InputSpecError(VoxguardError, ValueError):
    """A model's input kind cannot be determined, or the requested input does not fit it."""


@dataclass(frozen=True)
class InputSpec:
    """The input a model's ``forward`` takes.

    Attributes:
        kind: ``"waveform"`` or ``"features"``.
        sample_rate: waveform sample rate in Hz.
        feature_dim: size D of feature vectors (feature models only).
        frame_rate: feature frames per second (feature models only).
    """

    kind: str
    sample_rate: int = 16000
    feature_dim: int | None = None
    frame_rate: float = DEFAULT_FRAME_RATE


def _first_forward_arg(model: nn.Module) -> str | None:
    try:
        params = list(inspect.signature(model.forward).parameters)
    except (TypeError, ValueError):
        return None
    return params[0] if params else None


def input_spec(model: nn.Module) -> InputSpec:
    """The :class:`InputSpec` of ``model`` from its ``input_kind`` / ``feature_dim`` attributes."""
    config = getattr(model, "config", None)
    sample_rate = int(getattr(model, "sample_rate", getattr(config, "sample_rate", 16000)))
    frame_rate = float(getattr(model, "frame_rate", DEFAULT_FRAME_RATE))
    kind = getattr(model, "input_kind", None)
    if kind is None:
        kind = "features" if _first_forward_arg(model) in ("feats", "features") else "waveform"
    if kind == "waveform":
        return InputSpec("waveform", sample_rate=sample_rate)
    if kind != "features":
        raise InputSpecError(
            f"{type(model).__name__}.input_kind is {kind!r}; expected 'waveform' or 'features'"
        )
    dim = getattr(model, "feature_dim", None) or getattr(config, "in_dim", None)
    if not dim:
        raise InputSpecError(
            f"{type(model).__name__} takes features but states no size: set "
            "model.feature_dim (or a config field in_dim)"
        )
    return InputSpec("features", sample_rate, int(dim), frame_rate)


def input_length(spec: InputSpec, seconds: float | None = None, frames: int | None = None) -> int:
    """Input length along time: samples for waveform models, frames for feature models.

    Args:
        spec: the model's input spec.
        seconds: duration; converted with the sample rate or the frame rate.
        frames: number of feature frames (feature models only).
    """
    if seconds is not None and frames is not None:
        raise InputSpecError("give either seconds or frames, not both")
    if (seconds is not None and seconds <= 0) or (frames is not None and frames <= 0):
        raise InputSpecError(f"input length must be positive (seconds={seconds}, frames={frames})")
    if spec.kind == "waveform":
        if frames is not None:
            raise InputSpecError(
                "this model takes a waveform: give its length in seconds (--seconds), not frames"
            )
        return DEFAULT_SAMPLES if seconds is None else int(round(seconds * spec.sample_rate))
    if frames is not None:
        return int(frames)
    return DEFAULT_FRAMES if seconds is None else max(1, int(round(seconds * spec.frame_rate)))


def example_input(spec: InputSpec, length: int, batch: int = 1, seed: int = 0) -> torch.Tensor:
    """A deterministic random input of ``length`` samples or frames.

    Waveforms are Gaussian noise at -20 dBFS RMS clipped to [-1, 1]; features are N(0, 1).
    """
    gen = torch.Generator().manual_seed(seed)
    if spec.kind == "waveform":
        return (0.1 * torch.randn(batch, length, generator=gen)).clamp_(-1.0, 1.0)
    return torch.randn(batch, length, int(spec.feature_dim or 0), generator=gen)


def describe_input(spec: InputSpec, length: int, batch: int = 1) -> dict[str, object]:
    """JSON-ready description of an input: kind, batch, samples or frames, seconds."""
    if spec.kind == "waveform":
        return {
            "kind": "waveform",
            "batch": batch,
            "samples": length,
            "seconds": round(length / spec.sample_rate, 6),
            "sample_rate": spec.sample_rate,
        }
    return {
        "kind": "features",
        "batch": batch,
        "frames": length,
        "feature_dim": spec.feature_dim,
        "seconds": round(length / spec.frame_rate, 6),
    }
