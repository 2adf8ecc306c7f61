"""Composite selection score for deployment-oriented model choice (SpAArSIST).

Each criterion is min-max normalised across the table to [0, 1] (0 = best row, 1 = worst; lower
raw values are better for every criterion; a constant column normalises to 0). The normalised
costs are combined with weights into ``cost = sum(w_c * n_c) / sum(w_c)`` and reported as
``score = 1 - cost`` (higher = better, rank 1 = best).

Default weights (:data:`DEFAULT_WEIGHTS`): accuracy 0.5 (EER 0.25, minDCF 0.25), calibration 0.2
(actDCF 0.1, Cllr 0.1), compute 0.3 (MACs 0.1, params 0.1, latency 0.1). These weights (and the
min-max normalisation) are voxguard's own choice: the SpAArSIST paper names the criteria of its
composite score but neither its public text nor its public code gives weights, so rankings
made here are not the paper's; pass ``weights`` to match another convention. A criterion absent from
the table is dropped and the remaining weights are renormalised (reported in ``missing`` and
``weights``); an empty cell counts as the worst value (1.0) of its column. The Pareto front is
taken on (accuracy cost, compute cost), each the weighted mean of its normalised criteria.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voxguard.errors import ParseError, VoxguardError

__all__ = ["DEFAULT_WEIGHTS", "GROUPS", "SelectionResult", "select", "select_csv", "parse_weights"]

DEFAULT_WEIGHTS: dict[str, float] = {
    "eer": 0.25,
    "min_dcf": 0.25,
    "act_dcf": 0.10,
    "cllr": 0.10,
    "macs": 0.10,
    "params": 0.10,
    "latency": 0.10,
}
GROUPS = {
    "accuracy": ("eer", "min_dcf"),
    "calibration": ("act_dcf", "cllr"),
    "compute": ("macs", "params", "latency"),
}
_ALIASES = {
    "eer": "eer",
    "eer_%": "eer",
    "mindcf": "min_dcf",
    "min_dcf": "min_dcf",
    "actdcf": "act_dcf",
    "act_dcf": "act_dcf",
    "cllr": "cllr",
    "macs": "macs",
    "gmacs": "macs",
    "mmacs": "macs",
    "params": "params",
    "parameters": "params",
    "n_params": "params",
    "latency": "latency",
    "latency_ms": "latency",
    "latency_s": "latency",
}
_NAME_COLUMNS = ("name", "config", "configuration", "model", "system")


@dataclass
class SelectionResult:
    """Ranked table: one dict per row with the raw values, ``norm_<c>``, ``score``, ``rank``,
    ``accuracy_cost``, ``compute_cost`` and ``pareto``."""

    rows: list[dict[str, Any]]
    weights: dict[str, float]
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready result."""
        return {"weights": self.weights, "missing": self.missing, "rows": self.rows}


def parse_weights(text: str) -> dict[str, float]:
    """Parse ``"eer=0.3,min_dcf=0.2,latency=0"`` over :data:`DEFAULT_WEIGHTS` (others kept)."""
    weights = dict(DEFAULT_WEIGHTS)
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, _, value = item.partition("=")
        key = _ALIASES.get(key.strip().lower(), key.strip().lower())
        if key not in DEFAULT_WEIGHTS:
            raise VoxguardError(
                f"unknown criterion {key!r} in --weights; use {sorted(DEFAULT_WEIGHTS)}"
            )
        try:
            weights[key] = float(value)
        except ValueError:
            raise VoxguardError(f"weight of {key!r} must be a number, got {value!r}") from None
        if weights[key] < 0:
            raise VoxguardError(f"weight of {key!r} must be >= 0")
    return weights


def _minmax(col: np.ndarray) -> np.ndarray:
    finite = col[np.isfinite(col)]
    if finite.size == 0:
        return np.ones_like(col)
    lo, hi = finite.min(), finite.max()
    norm = np.zeros_like(col) if hi == lo else (col - lo) / (hi - lo)
    return np.where(np.isfinite(col), norm, 1.0)


def _weighted(norms: dict[str, np.ndarray], weights: Mapping[str, float], keys: Sequence[str]):
    keys = [k for k in keys if k in norms and weights.get(k, 0) > 0]
    if not keys:
        return None
    total = sum(weights[k] for k in keys)
    return sum(weights[k] * norms[k] for k in keys) / total


def _pareto(acc: np.ndarray, comp: np.ndarray) -> np.ndarray:
    """True for rows no other row beats in both costs (<= in both, < in one)."""
    le = (acc[None, :] <= acc[:, None]) & (comp[None, :] <= comp[:, None])
    lt = (acc[None, :] < acc[:, None]) | (comp[None, :] < comp[:, None])
    return ~(le & lt).any(axis=1)


def select(
    rows: Sequence[Mapping[str, Any]], weights: Mapping[str, float] | None = None
) -> SelectionResult:
    """Rank configurations by the composite selection score (see the module docstring).

    Args:
        rows: one mapping per configuration; criteria under the keys of :data:`DEFAULT_WEIGHTS`
            (``None``/NaN = missing cell), plus any other fields (kept in the output).
        weights: per-criterion weights (default :data:`DEFAULT_WEIGHTS`).
    """
    if not rows:
        raise VoxguardError("the results table is empty; nothing to select")
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    present = [c for c in DEFAULT_WEIGHTS if any(c in r for r in rows)]
    missing = [c for c in DEFAULT_WEIGHTS if c not in present]
    used = {c: weights.get(c, 0.0) for c in present if weights.get(c, 0.0) > 0}
    if not used:
        raise VoxguardError(
            f"no criterion with a positive weight is in the table (columns needed: {sorted(DEFAULT_WEIGHTS)})"
        )
    total = sum(used.values())
    used = {c: w / total for c, w in used.items()}

    def value(r: Mapping[str, Any], c: str) -> float:
        v = r.get(c)
        return math.nan if v is None or v == "" else float(v)

    norms = {c: _minmax(np.array([value(r, c) for r in rows], dtype=np.float64)) for c in used}
    cost = _weighted(norms, used, list(used))
    acc = _weighted(norms, used, GROUPS["accuracy"])
    comp = _weighted(norms, used, GROUPS["compute"])
    n = len(rows)
    acc_v = acc if acc is not None else np.zeros(n)
    comp_v = comp if comp is not None else np.zeros(n)
    front = _pareto(acc_v, comp_v)
    order = np.argsort(cost, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    out = []
    for i, r in enumerate(rows):
        row = dict(r)
        row.update({f"norm_{c}": float(norms[c][i]) for c in used})
        row["accuracy_cost"] = None if acc is None else float(acc[i])
        row["compute_cost"] = None if comp is None else float(comp[i])
        row["score"] = float(1.0 - cost[i])
        row["rank"] = int(rank[i])
        row["pareto"] = bool(front[i])
        out.append(row)
    out.sort(key=lambda x: x["rank"])
    return SelectionResult(rows=out, weights=used, missing=missing)


def read_results_csv(path: str | Path) -> list[dict[str, Any]]:
    """Read a results CSV; criterion columns are recognised by name (``EER``, ``minDCF``,
    ``actDCF``, ``Cllr``, ``MACs``, ``params``, ``latency_ms``, ...), the rest kept as text."""
    try:
        fh = open(path, newline="", encoding="utf-8")  # noqa: SIM115
    except FileNotFoundError as exc:
        raise VoxguardError(f"{path}: results table not found") from exc
    with fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames:
            raise ParseError(path, 1, "no header line; the first line must name the columns")
        rename = {
            f: _ALIASES.get(f.strip().lower().replace(" ", "_"), f.strip())
            for f in reader.fieldnames
        }
        rows = []
        for no, raw in enumerate(reader, 2):
            row: dict[str, Any] = {}
            for key, text in raw.items():
                if key is None:
                    raise ParseError(path, no, "more fields than header columns")
                name, text = rename[key], (text or "").strip()
                if name in DEFAULT_WEIGHTS:
                    try:
                        row[name] = float(text) if text else None
                    except ValueError:
                        raise ParseError(
                            path, no, f"{key} value {text!r} is not a number"
                        ) from None
                else:
                    row[name] = text
            rows.append(row)
    return rows


def select_csv(path: str | Path, weights: Mapping[str, float] | None = None) -> SelectionResult:
    """:func:`select` on a results CSV read with :func:`read_results_csv`."""
    return select(read_results_csv(path), weights)


def name_of(row: Mapping[str, Any]) -> str:
    """Display name of a row: its name/config/model column, else ``"-"``."""
    for key in _NAME_COLUMNS:
        for k, v in row.items():
            if k.lower() == key and v:
                return str(v)
    return "-"
