"""CPU cost of the CM backends side by side: AASIST, AASIST-L, SSL-AASIST and SpAArSIST.

Each model runs in eval mode on batch-1 inputs of 1, 4 and 10 s (``--durations``): raw
waveforms at 16 kHz for ``aasist`` / ``aasist_l``, SSL features at 50 frames/s (1024-dim) for
the SSL backends (the SSL front-end itself is not timed: see ``bench_frontends.py``). ``aasist``
carries the official weights (``../shared/anchors/aasist/``) where present, the others random
weights (the cost does not depend on them). For every duration the models are timed in
interleaved rounds after warm-up, so that CPU contention hits them alike; a fast model's sample
averages several back-to-back calls (about 0.25 s per sample). Reported per model and duration:
the median CPU time (this process, one thread) and wall time per call, the CPU ratio to the
official AASIST on the same duration and to ``ssl_aasist``, params and MACs
(``voxguard.profiling.count_macs``), with the load average at start and end and the machine.
Prints a table, writes ``benchmarks/results/cm_backends.json``.

    python benchmarks/bench_cm_backends.py [--threads 1] [--repeats 5] [--warmup 1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from _common import REPO, conditions, interleaved, load, official_aasist, write_result

import voxguard
from voxguard.profiling import count_macs, example_input, input_length, input_spec

OUT = REPO / "benchmarks" / "results" / "cm_backends.json"
MODELS = ("aasist", "aasist_l", "ssl_aasist", "spaarsist_base", "spaarsist_mag", "spaarsist_rank1")
REFERENCE = "ssl_aasist"
DURATIONS = (1.0, 4.0, 10.0)
MIN_SAMPLE_S = 0.25


def bench(names: list[str], durations: list[float], repeats: int, warmup: int) -> list[dict]:
    """One row per (model, duration): input length, MACs, median CPU and wall ms per call."""
    torch.manual_seed(0)
    models = {n: voxguard.create_model(n).eval() for n in names}
    official = official_aasist()
    if official is not None and "aasist" in models:
        models["aasist"] = official
    rows = []
    for seconds in durations:
        inputs = {}
        for name, model in models.items():
            spec = input_spec(model)
            inputs[name] = example_input(spec, input_length(spec, seconds=seconds))
        fns = {n: (lambda m=models[n], x=inputs[n]: m(x)) for n in names}
        with torch.inference_mode():
            timing = interleaved(fns, repeats, warmup, min_sample_s=MIN_SAMPLE_S)
        for name in names:
            x = inputs[name]
            rows.append(
                {
                    "model": name,
                    "weights": "official"
                    if name == "aasist" and official is not None
                    else "random",
                    "seconds": seconds,
                    "input": "waveform" if x.dim() == 2 else "features",
                    "input_length": int(x.shape[1]),
                    "params": sum(p.numel() for p in models[name].parameters()),
                    "macs": count_macs(models[name], x).total,
                    "cpu_ms": 1e3 * timing[name]["cpu_s"],
                    "wall_ms": 1e3 * timing[name]["wall_s"],
                    "calls_per_sample": timing[name]["calls_per_sample"],
                }
            )
    for row in rows:
        same = {r["model"]: r for r in rows if r["seconds"] == row["seconds"]}
        for ref, key in (("aasist", "cpu_ratio_to_aasist"), (REFERENCE, "cpu_ratio_to_ssl_aasist")):
            row[key] = row["cpu_ms"] / same[ref]["cpu_ms"] if ref in same else None
    return rows


def table(rows: list[dict], names: list[str], durations: list[float]) -> str:
    """Median CPU ms per model and duration, with the CPU ratio to AASIST."""
    head = f"{'model':18s} {'params':>10s} " + " ".join(f"{f'{s:g} s':>18s}" for s in durations)
    lines = [head, "-" * len(head)]
    for name in names:
        cells = []
        for s in durations:
            r = next(r for r in rows if r["model"] == name and r["seconds"] == s)
            ratio = r["cpu_ratio_to_aasist"]
            cells.append(f"{r['cpu_ms']:9.1f} ({ratio:5.3f}x)" if ratio else f"{r['cpu_ms']:18.1f}")
        params = next(r["params"] for r in rows if r["model"] == name)
        lines.append(f"{name:18s} {params:>10,d} " + " ".join(cells))
    lines.append("\nGMACs (same inputs)")
    for name in names:
        macs = [
            next(r for r in rows if r["model"] == name and r["seconds"] == s)["macs"]
            for s in durations
        ]
        lines.append(f"{name:18s} {'':>10s} " + " ".join(f"{m / 1e9:18.3f}" for m in macs))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--repeats", type=int, default=5, help="timed rounds (median reported)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed rounds first (>= 1)")
    ap.add_argument(
        "--durations",
        default=",".join(f"{d:g}" for d in DURATIONS),
        help="comma-separated input durations in seconds",
    )
    ap.add_argument("--out", type=Path, default=OUT, help="JSON output path")
    args = ap.parse_args()
    load_start = load()
    torch.set_num_threads(args.threads)
    known = set(voxguard.list_models())
    names = [n for n in MODELS if n in known]
    missing = [n for n in MODELS if n not in known]
    durations = [float(d) for d in args.durations.split(",")]
    if args.warmup < 1:
        ap.error("--warmup must be at least 1 (it also sizes the timed samples)")
    rows = bench(names, durations, args.repeats, args.warmup)
    cond = conditions(load_start)
    print(
        f"CM backends, CPU ms per call, {args.threads} thread(s), batch 1, median of "
        f"{args.repeats} interleaved rounds after {args.warmup} warm-up (CPU ratio to the "
        f"official AASIST); load {load_start} -> {cond['load_average_end']}"
    )
    print(table(rows, names, durations))
    if missing:
        print(f"not registered, skipped: {', '.join(missing)}")
    result = {
        "benchmark": "cm_backends: CPU and wall per call, batch 1",
        "threads": args.threads,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "feature_rate_hz": 50,
        "sample_rate_hz": 16000,
        "reference": "official AASIST (aasist with its published weights)",
        "rows": rows,
        **cond,
        "note": "median of interleaved rounds; CPU = this process (one thread); compare "
        "ratios within one run",
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()
