"""Time all CM metrics on 1M scores: voxguard vs a line-by-line port of the official loops.

The official ASVspoof 5 package computes the DET curve vectorised but finds minDCF and the t-DCF
minimum with Python loops over every threshold; the "official-style" column times such a
loop-based minDCF (same result) on the same scores, and "one stable argsort" is the sort those
packages start from (voxguard replaces it by two plain ``np.sort`` calls). Prints a table, writes
``benchmarks/results/metrics.json``.

    python benchmarks/bench_metrics.py [--n 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from voxguard import metrics as M
from voxguard.evaluation.cm import cm_metrics


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _official_style_min_dcf(bona: np.ndarray, spoof: np.ndarray) -> float:
    det = M.det_curve(bona, spoof)
    best = float("inf")
    for i in range(len(det.frr)):  # the evaluation package's per-threshold loop
        c = 1.0 * det.frr[i] * 0.95 + 10.0 * det.far[i] * 0.05
        if c < best:
            best = c
    return best / min(0.95, 0.5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="total number of scores")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n_bona = args.n // 10
    bona = rng.normal(2.0, 1.5, n_bona)
    spoof = rng.normal(-2.0, 2.0, args.n - n_bona)
    spoof[: args.n // 20] = np.round(spoof[: args.n // 20], 1)  # some tied scores

    rows = {
        "all CM metrics (cm_metrics)": lambda: cm_metrics(bona, spoof),
        "EER (legacy)": lambda: M.eer(bona, spoof),
        "EER (tie-aware interp)": lambda: M.eer_interp(bona, spoof),
        "minDCF": lambda: M.min_dcf(bona, spoof),
        "actDCF": lambda: M.act_dcf(bona, spoof),
        "Cllr": lambda: M.cllr(bona, spoof),
        "minCllr (PAV)": lambda: M.min_cllr(bona, spoof),
        "t-DCF revised": lambda: M.min_tdcf_revised(bona, spoof),
        "(ref: one stable argsort)": lambda: np.argsort(np.r_[bona, spoof], kind="mergesort"),
    }
    times = {name: _best(fn, args.repeat) for name, fn in rows.items()}
    official = _best(lambda: _official_style_min_dcf(bona, spoof), 1)
    ours = M.min_dcf(bona, spoof)[0]
    assert abs(_official_style_min_dcf(bona, spoof) - ours) < 1e-12

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{args.n:,} scores ({n_bona:,} bona fide), best of {args.repeat}; "
        f"{os.cpu_count()} CPUs, load average {load:.1f}"
    )
    print(f"{'metric':32s} {'seconds':>9s}")
    for name, t in times.items():
        print(f"{name:32s} {t:9.3f}")
    print(
        f"{'minDCF, official-style loop':32s} {official:9.3f}   "
        f"(voxguard {official / times['minDCF']:.1f}x faster)"
    )
    out = {
        "n_scores": args.n,
        "n_bonafide": n_bona,
        "repeat": args.repeat,
        "seconds": times,
        "official_style_min_dcf_seconds": official,
        "speedup_min_dcf": official / times["minDCF"],
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "cpu_count": os.cpu_count(),
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "processor": platform.processor() or platform.machine(),
        },
    }
    path = Path(__file__).resolve().parent / "results" / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
