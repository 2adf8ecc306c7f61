"""Wall-clock CPU latency of a forward pass: median of repeats after warm-up."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn


@contextmanager
def num_threads(threads: int | None) -> Iterator[None]:
    """Temporarily set ``torch.set_num_threads`` (no-op for ``None``)."""
    if threads is None:
        yield
        return
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def time_callable(fn: Callable[[], Any], *, repeats: int = 10, warmup: int = 2) -> list[float]:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times; return seconds per run."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def measure_latency(
    model: nn.Module,
    *inputs: torch.Tensor,
    threads: int | None = None,
    repeats: int = 10,
    warmup: int = 2,
) -> dict[str, float | int | None]:
    """CPU latency of ``model(*inputs)`` under ``torch.inference_mode``.

    Args:
        model: the module, already in the mode to measure (usually ``eval()``).
        inputs: its positional inputs.
        threads: intra-op threads for the measurement (``None``: leave as is).
        repeats: timed runs; the median is the headline figure.
        warmup: untimed runs first (allocator, oneDNN kernel selection).

    Returns:
        ``median_ms``, ``mean_ms``, ``min_ms``, ``max_ms``, ``repeats``, ``threads``.
    """
    with num_threads(threads), torch.inference_mode():
        times = time_callable(lambda: model(*inputs), repeats=repeats, warmup=warmup)
        used_threads = torch.get_num_threads()
    ms = [t * 1e3 for t in times]
    return {
        "median_ms": statistics.median(ms),
        "mean_ms": statistics.fmean(ms),
        "min_ms": min(ms),
        "max_ms": max(ms),
        "repeats": repeats,
        "threads": used_threads,
    }
