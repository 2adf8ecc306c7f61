"""CPU latency of the CM backends side by side: AASIST, AASIST-L, SSL-AASIST and SpAArSIST.

Each model runs in eval mode with random weights (the cost does not depend on them) on batch-1
inputs of 1, 2, 4, 6 and 10 s: raw waveforms at 16 kHz for ``aasist`` / ``aasist_l``, SSL
features at 50 frames/s (1024-dim) for the SSL backends (the SSL front-end itself is not
timed: see ``bench_frontends.py``). For every duration the models are timed in interleaved
rounds after warm-up, so that CPU contention hits them alike; a fast model's sample averages
several back-to-back calls (about 0.25 s per sample); the median over rounds is reported with
its ratio to ``ssl_aasist``. MACs (``voxguard.profiling.count_macs``) are listed
for the same inputs. Prints a table, writes ``benchmarks/results/cm_backends.json``.

    python benchmarks/bench_cm_backends.py [--threads 1] [--repeats 7] [--warmup 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

import voxguard
from voxguard.profiling import count_macs, example_input, input_length, input_spec

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "results" / "cm_backends.json"
MODELS = ("aasist", "aasist_l", "ssl_aasist", "spaarsist_base", "spaarsist_mag", "spaarsist_rank1")
REFERENCE = "ssl_aasist"
DURATIONS = (1.0, 2.0, 4.0, 6.0, 10.0)
MIN_SAMPLE_S = 0.25


def _time(model: torch.nn.Module, x: torch.Tensor, inner: int = 1) -> float:
    """Seconds per forward pass, averaged over ``inner`` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(inner):
        model(x)
    return (time.perf_counter() - start) / inner


def bench(names: list[str], durations: list[float], repeats: int, warmup: int) -> list[dict]:
    """One row per (model, duration): input length, MACs, median/min latency in ms."""
    torch.manual_seed(0)
    models = {n: voxguard.create_model(n).eval() for n in names}
    rows = []
    for seconds in durations:
        inputs = {}
        for name, model in models.items():
            spec = input_spec(model)
            inputs[name] = example_input(spec, input_length(spec, seconds=seconds))
        times: dict[str, list[float]] = {n: [] for n in names}
        inner = {}
        with torch.inference_mode():
            for _ in range(warmup):
                for name in names:
                    once = _time(models[name], inputs[name])
                    # fast models are timed over several back-to-back calls (~0.25 s a sample)
                    inner[name] = max(1, min(50, round(MIN_SAMPLE_S / max(once, 1e-6))))
            for _ in range(repeats):
                for name in names:
                    times[name].append(_time(models[name], inputs[name], inner.get(name, 1)))
        for name in names:
            x = inputs[name]
            rows.append(
                {
                    "model": name,
                    "seconds": seconds,
                    "input": "waveform" if x.dim() == 2 else "features",
                    "input_length": int(x.shape[1]),
                    "params": sum(p.numel() for p in models[name].parameters()),
                    "macs": count_macs(models[name], x).total,
                    "median_ms": 1e3 * statistics.median(times[name]),
                    "min_ms": 1e3 * min(times[name]),
                    "calls_per_sample": inner.get(name, 1),
                }
            )
    for row in rows:
        ref = next(
            (r for r in rows if r["model"] == REFERENCE and r["seconds"] == row["seconds"]), None
        )
        row["ratio_to_ssl_aasist"] = row["median_ms"] / ref["median_ms"] if ref else None
    return rows


def table(rows: list[dict], names: list[str], durations: list[float]) -> str:
    """Median latency (ms) per model and duration, with the ratio to ssl_aasist."""
    head = f"{'model':18s} {'params':>10s} " + " ".join(f"{f'{s:g} s':>17s}" for s in durations)
    lines = [head, "-" * len(head)]
    for name in names:
        cells = []
        for s in durations:
            r = next(r for r in rows if r["model"] == name and r["seconds"] == s)
            ratio = r["ratio_to_ssl_aasist"]
            cells.append(
                f"{r['median_ms']:9.1f} ({ratio:4.2f}x)" if ratio else f"{r['median_ms']:17.1f}"
            )
        params = next(r["params"] for r in rows if r["model"] == name)
        lines.append(f"{name:18s} {params:>10,d} " + " ".join(cells))
    lines.append("\nGMACs (same inputs)")
    for name in names:
        macs = [
            next(r for r in rows if r["model"] == name and r["seconds"] == s)["macs"]
            for s in durations
        ]
        lines.append(f"{name:18s} {'':>10s} " + " ".join(f"{m / 1e9:17.3f}" for m in macs))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--repeats", type=int, default=7, help="timed rounds (median reported)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed rounds first (>= 1)")
    ap.add_argument(
        "--durations",
        default=",".join(f"{d:g}" for d in DURATIONS),
        help="comma-separated input durations in seconds",
    )
    ap.add_argument("--out", type=Path, default=OUT, help="JSON output path")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    known = set(voxguard.list_models())
    names = [n for n in MODELS if n in known]
    missing = [n for n in MODELS if n not in known]
    durations = [float(d) for d in args.durations.split(",")]
    if args.warmup < 1:
        ap.error("--warmup must be at least 1 (it also sizes the timed samples)")
    rows = bench(names, durations, args.repeats, args.warmup)
    print(
        f"CM backends, CPU, {args.threads} thread(s), batch 1, median of {args.repeats} "
        f"interleaved rounds after {args.warmup} warm-up; ms (ratio to {REFERENCE})"
    )
    print(table(rows, names, durations))
    if missing:
        print(f"not registered, skipped: {', '.join(missing)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "cm_backends",
                "threads": args.threads,
                "repeats": args.repeats,
                "warmup": args.warmup,
                "feature_rate_hz": 50,
                "sample_rate_hz": 16000,
                "reference": REFERENCE,
                "torch": torch.__version__,
                "voxguard": voxguard.__version__,
                "machine": platform.machine(),
                "processor": platform.processor() or platform.machine(),
                "note": "shared CPU: absolute times vary between runs; ratios from one interleaved run",
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
