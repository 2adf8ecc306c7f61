"""DET curves on normal-deviate axes and score histograms, written to PNG (matplotlib).

matplotlib is the ``[plot]`` extra; it is imported only when a plot is drawn, and figures are
drawn on an Agg canvas (no display, no global backend change).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

from voxguard.errors import VoxguardError
from voxguard.metrics import det_curve, eer

__all__ = ["plot_det", "plot_histogram", "probit"]

_TICKS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4]
_LIMIT = (0.0005, 0.5)


def probit(p: ArrayLike) -> np.ndarray:
    """Normal deviate (inverse standard-normal CDF) of probabilities, clipped to (1e-6, 1-1e-6)."""
    inv = np.vectorize(NormalDist().inv_cdf, otypes=[np.float64])
    return inv(np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1.0 - 1e-6))


def _figure():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise VoxguardError(
            "plots need matplotlib: pip install 'voxguard[plot]' (or pip install matplotlib)"
        ) from exc
    fig = Figure(figsize=(5.5, 5.0), dpi=120)
    FigureCanvasAgg(fig)
    return fig


def _thin(frr: np.ndarray, far: np.ndarray, n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """At most ``n`` points of the curve, keeping its ends (the curve is drawn, not measured)."""
    if frr.size <= n:
        return frr, far
    idx = np.unique(np.linspace(0, frr.size - 1, n).round().astype(np.int64))
    return frr[idx], far[idx]


def plot_det(
    systems: Mapping[str, tuple[ArrayLike, ArrayLike]],
    path: str | Path,
    title: str = "DET",
) -> Path:
    """Draw DET curves (miss vs false-alarm rate, normal-deviate axes) and mark each EER.

    Args:
        systems: ``{name: (positive scores, negative scores)}``; higher = bona fide / target.
        path: PNG file to write (parent folders are created).
        title: figure title.
    """
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    for name, (pos, neg) in systems.items():
        det = det_curve(pos, neg)
        frr, far = _thin(det.frr, det.far)
        e = eer(pos, neg)[0]
        (line,) = ax.plot(probit(far), probit(frr), label=f"{name} (EER {100 * e:.2f} %)")
        ax.plot(probit(e), probit(e), "o", color=line.get_color())
    ticks = probit(_TICKS)
    labels = [f"{100 * t:g}" for t in _TICKS]
    ax.set_xticks(ticks, labels)
    ax.set_yticks(ticks, labels)
    lo, hi = probit(_LIMIT)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.plot([lo, hi], [lo, hi], ":", color="grey", linewidth=0.8)
    ax.set_xlabel("False-alarm rate (%)")
    ax.set_ylabel("Miss rate (%)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out


def plot_histogram(
    groups: Mapping[str, ArrayLike],
    path: str | Path,
    title: str = "Score distribution",
    threshold: float | None = None,
    bins: int = 80,
    threshold_label: str = "threshold",
) -> Path:
    """Overlaid density histograms of score groups (e.g. bona fide vs spoof), written to PNG.

    Args:
        groups: ``{label: scores}``.
        path: PNG file to write.
        threshold: optional vertical line (e.g. the EER or Bayes threshold).
        bins: number of shared bins.
        threshold_label: which threshold the line is (the legend says it and its value,
            e.g. ``EER threshold = 0.412``).
    """
    arrays = {k: np.asarray(v, dtype=np.float64).ravel() for k, v in groups.items()}
    values = np.concatenate([a for a in arrays.values() if a.size])
    if values.size == 0:
        raise VoxguardError("plot_histogram: no scores to draw")
    edges = np.histogram_bin_edges(values, bins=bins)
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    for name, arr in arrays.items():
        if arr.size:
            ax.hist(arr, bins=edges, density=True, alpha=0.5, label=f"{name} (n={arr.size})")
    if threshold is not None:
        ax.axvline(
            threshold,
            color="black",
            linestyle="--",
            linewidth=1,
            label=f"{threshold_label} = {threshold:.4g}",
        )
    ax.set_xlabel("score (higher = bona fide / target)")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(fontsize=8)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out
