"""Distributed data parallel training, launched with ``torchrun``.

``torchrun --nproc_per_node N -m voxguard.cli.main train CONFIG`` sets ``RANK``, ``WORLD_SIZE``
and ``LOCAL_RANK``; :func:`init` then joins the process group (``nccl`` on CUDA, ``gloo`` on
CPU). Without those variables everything is a single process and these helpers are no-ops.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistContext:
    """Where this process sits in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """True on the process that writes logs, checkpoints and scores."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when more than one process trains."""
        return self.world_size > 1


def pick_device(preference: str = "auto", local_rank: int = 0) -> torch.device:
    """``auto`` → ``cuda:LOCAL_RANK`` when available, else CPU; otherwise the named device
    (a CUDA device asked for on a machine without one is refused with a clear error)."""
    if preference == "auto":
        return (
            torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
        )
    if preference.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {preference!r}: no CUDA device on this machine; use cpu or auto")
    return torch.device(preference)


def init(device: str = "auto") -> DistContext:
    """Join the process group if launched by torchrun; return this process' context."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local_rank)
    if world <= 1:
        return DistContext(device=dev)
    if not dist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend=backend)
    return DistContext(dist.get_rank(), dist.get_world_size(), local_rank, dev)


def wrap(model: nn.Module, ctx: DistContext) -> nn.Module:
    """Wrap ``model`` in DDP when distributed (unused parameters allowed: frozen phases)."""
    if not ctx.distributed:
        return model
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)


def unwrap(model: nn.Module) -> nn.Module:
    """The bare model inside a DDP wrapper."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def barrier(ctx: DistContext) -> None:
    """Wait for every process (no-op when single-process)."""
    if ctx.distributed:
        dist.barrier()


def mean_across(value: float, ctx: DistContext) -> float:
    """Average a scalar over the processes."""
    if not ctx.distributed:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t)
    return float(t.item()) / ctx.world_size


def cleanup(ctx: DistContext) -> None:
    """Leave the process group."""
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()
