"""CPU latency and MACs of the speaker embedders, next to the BC-CMT paper's Tiny CPU figures.

Latency of one utterance (batch 1, waveform in, fbank included) of 1, 2, 5 and 10 s through
bccmt_tiny / small / base, acanet and ecapa_tdnn (random weights: cost does not depend on them),
measured in one run with rounds that interleave the models so CPU contention hits them alike;
the median (and the minimum, the better estimate on a
busy machine) over rounds is reported; the load average is recorded. The paper (TASLP 2024) gives 29.07 ms (1 s) to 146.32 ms
(10 s) for BC-CMT-Tiny on its CPU; the hardware differs, so compare ratios, not absolutes.
MACs per second of audio are ``voxguard.profiling.count_macs`` (torch FlopCounterMode FLOPs / 2)
on a 1 s input (the fbank's DFT matmul included). Prints a table, writes
``benchmarks/results/spk.json``.

    python benchmarks/bench_spk.py [--rounds 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

import voxguard
from voxguard.profiling.macs import MAC_COUNTER, count_macs

OUT = Path(__file__).resolve().parent / "results" / "spk.json"
MODELS = ("bccmt_tiny", "bccmt_small", "bccmt_base", "acanet", "ecapa_tdnn")
SECONDS = (1, 2, 5, 10)
PAPER_TINY_CPU_MS = {1: 29.07, 10: 146.32}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    models = {n: voxguard.create_model(n).eval() for n in MODELS}
    inputs = {s: torch.randn(1, 16000 * s) * 0.1 for s in SECONDS}
    times: dict[tuple[str, int], list[float]] = {(n, s): [] for n in MODELS for s in SECONDS}
    load_before = os.getloadavg()[0]
    with torch.inference_mode():
        for m in models.values():  # warm-up
            for s in SECONDS:
                m(inputs[s])
        for _ in range(args.rounds):
            for s in SECONDS:
                for n, m in models.items():
                    t0 = time.perf_counter()
                    m(inputs[s])
                    times[(n, s)].append((time.perf_counter() - t0) * 1e3)
    load_after = os.getloadavg()[0]
    rows = []
    for n, m in models.items():
        macs = count_macs(m, inputs[1]).total
        row = {
            "model": n,
            "params": sum(p.numel() for p in m.parameters()),
            "macs_per_s": macs,
            "latency_ms": {str(s): round(statistics.median(times[(n, s)]), 2) for s in SECONDS},
            "latency_min_ms": {str(s): round(min(times[(n, s)]), 2) for s in SECONDS},
        }
        rows.append(row)
    header = f"{'model':12s} {'params':>10s} {'GMACs/s':>8s} " + " ".join(
        f"{f'{s}s ms':>9s}" for s in SECONDS
    )
    print(header)
    print(
        f"{'paper Tiny':12s} {'271,440':>10s} {'':>8s} "
        + " ".join(f"{PAPER_TINY_CPU_MS.get(s, float('nan')):9.2f}" for s in SECONDS)
    )
    for key, label in (("latency_ms", "median"), ("latency_min_ms", "min")):
        print(f"-- {label} over rounds")
        for r in rows:
            print(
                f"{r['model']:12s} {r['params']:10,d} {r['macs_per_s'] / 1e9:8.3f} "
                + " ".join(f"{r[key][str(s)]:9.2f}" for s in SECONDS)
            )
    result = {
        "what": "batch-1 CPU latency (median over interleaved rounds, fbank included) and MACs per s of audio",
        "mac_counter": MAC_COUNTER,
        "paper_bccmt_tiny_cpu_ms": PAPER_TINY_CPU_MS,
        "rounds": args.rounds,
        "threads": args.threads,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_before_after": [round(load_before, 2), round(load_after, 2)],
        "torch": torch.__version__,
        "rows": rows,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
