"""CPU cost and MACs of the speaker embedders, next to the official AASIST and the BC-CMT paper.

CPU and wall time of one utterance (batch 1, waveform in, fbank included) of 1, 2, 5 and 10 s
through bccmt_tiny / small / base, acanet and ecapa_tdnn (random weights: cost does not depend
on them) and through the official AASIST (its published weights from
``../shared/anchors/aasist/``) on the same audio as the reference, measured in one run with
rounds that interleave the models so CPU contention hits them alike; a fast model's sample
averages several back-to-back calls. Reported: the median CPU (this process, one thread) and
wall ms per utterance, the CPU ratio to AASIST, the load average at start and end and the
machine. The paper (TASLP 2024) gives 29.07 ms (1 s) to 146.32 ms (10 s) for BC-CMT-Tiny on its
CPU; the hardware differs, so compare ratios, not absolutes. MACs per second of audio are
``voxguard.profiling.count_macs`` (torch FlopCounterMode FLOPs / 2) on a 1 s input (the fbank's
DFT matmul included). Prints a table, writes ``benchmarks/results/spk.json``.

    python benchmarks/bench_spk.py [--rounds 5] [--threads 1] [--seconds 1,2,5,10]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from _common import REPO, conditions, interleaved, load, official_aasist, write_result

import voxguard
from voxguard.profiling.macs import MAC_COUNTER, count_macs

OUT = REPO / "benchmarks" / "results" / "spk.json"
MODELS = ("bccmt_tiny", "bccmt_small", "bccmt_base", "acanet", "ecapa_tdnn")
SECONDS = (1, 2, 5, 10)
PAPER_TINY_CPU_MS = {1: 29.07, 10: 146.32}
AASIST = "official AASIST"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", default=",".join(map(str, SECONDS)))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    load_start = load()
    seconds = [int(s) for s in args.seconds.split(",")]
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    models = {n: voxguard.create_model(n).eval() for n in MODELS}
    aasist = official_aasist()
    if aasist is not None:
        models[AASIST] = aasist
    inputs = {s: torch.randn(1, 16000 * s) * 0.1 for s in seconds}
    timing = {}
    with torch.inference_mode():
        for s in seconds:
            fns = {n: (lambda m=m, x=inputs[s]: m(x)) for n, m in models.items()}
            timing[s] = interleaved(fns, args.rounds, warmup=1, min_sample_s=0.1)
    cond = conditions(load_start)
    rows = []
    for n, m in models.items():
        rows.append(
            {
                "model": n,
                "params": sum(p.numel() for p in m.parameters()),
                "macs_per_s": count_macs(m, inputs[seconds[0]]).total / seconds[0],
                "cpu_ms": {str(s): round(1e3 * timing[s][n]["cpu_s"], 2) for s in seconds},
                "wall_ms": {str(s): round(1e3 * timing[s][n]["wall_s"], 2) for s in seconds},
                "cpu_ratio_to_aasist": {
                    str(s): timing[s][n]["cpu_s"] / timing[s][AASIST]["cpu_s"]
                    for s in seconds
                    if aasist is not None
                },
            }
        )
    print(
        f"speaker embedders, batch 1, {args.threads} thread(s), median of {args.rounds} "
        f"interleaved rounds; load {load_start} -> {cond['load_average_end']}"
    )
    header = f"{'model':16s} {'params':>10s} {'GMACs/s':>8s} " + " ".join(
        f"{f'{s} s CPU ms':>12s} {'xAASIST':>8s}" for s in seconds
    )
    print(header)
    print(
        f"{'paper Tiny':16s} {'271,440':>10s} {'':>8s} "
        + " ".join(f"{PAPER_TINY_CPU_MS.get(s, float('nan')):12.2f} {'':>8s}" for s in seconds)
    )
    for r in rows:
        ratio = r["cpu_ratio_to_aasist"]
        print(
            f"{r['model']:16s} {r['params']:10,d} {r['macs_per_s'] / 1e9:8.3f} "
            + " ".join(
                f"{r['cpu_ms'][str(s)]:12.2f} {ratio.get(str(s), float('nan')):8.4f}"
                for s in seconds
            )
        )
    result = {
        "benchmark": "spk: speaker embedders, CPU and wall per utterance, batch 1 (fbank "
        "included), and MACs per s of audio",
        "mac_counter": MAC_COUNTER,
        "paper_bccmt_tiny_cpu_ms": PAPER_TINY_CPU_MS,
        "rounds": args.rounds,
        "threads": args.threads,
        "rows": rows,
        **cond,
        "note": "median of interleaved rounds; CPU = this process; compare ratios within one run",
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()
