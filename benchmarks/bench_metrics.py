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
from pathlib import Path

import numpy as np
from _common import Clock, interleaved, load, machine

from voxguard import metrics as M
from voxguard.evaluation.cm import cm_metrics


def _best(fn, repeat: int) -> dict[str, float]:
    """Median CPU and wall seconds of ``repeat`` calls."""
    cpu, wall = [], []
    for _ in range(repeat):
        with Clock() as c:
            fn()
        cpu.append(c.cpu)
        wall.append(c.wall)
    return {"cpu_s": float(np.median(cpu)), "wall_s": float(np.median(wall))}


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
    load_start = load()
    times = {name: _best(fn, args.repeat) for name, fn in rows.items()}
    ours = M.min_dcf(bona, spoof)[0]
    assert abs(_official_style_min_dcf(bona, spoof) - ours) < 1e-12
    # the official-style loop and voxguard's minDCF timed in interleaved rounds
    pair = interleaved(
        {
            "voxguard minDCF": lambda: M.min_dcf(bona, spoof),
            "official-style loop": lambda: _official_style_min_dcf(bona, spoof),
        },
        rounds=args.repeat,
        warmup=0,
    )
    ratio = pair["official-style loop"]["cpu_s"] / pair["voxguard minDCF"]["cpu_s"]
    print(f"{args.n:,} scores ({n_bona:,} bona fide), median of {args.repeat}; load {load_start}")
    print(f"{'metric':32s} {'CPU s':>8s} {'wall s':>8s}")
    for name, t in times.items():
        print(f"{name:32s} {t['cpu_s']:8.3f} {t['wall_s']:8.3f}")
    for name, t in pair.items():
        print(f"{name + ' (interleaved)':32s} {t['cpu_s']:8.3f} {t['wall_s']:8.3f}")
    print(f"minDCF: the official-style loop takes {ratio:.1f}x voxguard's CPU time")
    out = {
        "n_scores": args.n,
        "n_bonafide": n_bona,
        "repeat": args.repeat,
        "seconds": times,
        "min_dcf_interleaved": pair,
        "cpu_ratio_official_style_to_voxguard_min_dcf": ratio,
        "reference": "the official packages' per-threshold Python loop for minDCF (the AASIST "
        "model ratio does not apply to metrics)",
        "load_average_start": load_start,
        "load_average_end": load(),
        "machine": machine(),
    }
    path = Path(__file__).resolve().parent / "results" / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
