"""CPU cost of the SSL / Whisper front-ends, and what dropping WavLM-Large layers saves.

1. Latency of one 4 s utterance (batch 1) through the Whisper tiny.en encoder (log-mel included)
   and WavLM-Base / WavLM-Large truncated to 3 / 6 / 12 layers, all with random weights (the
   cost does not depend on them), timed in the same run: rounds interleave the models so that
   CPU contention hits them alike; the median over rounds is reported with its ratio to Whisper.
2. Parameters and MACs of WavLM-Large kept to 24 / 12 / 6 / 3 layers, of the AttM merge at that
   depth and of the whole AttM model (``attm_wavlm_large`` with ``num_layers`` overridden), for a
   64,600-sample input (the AASIST crop).

MACs are ``voxguard.profiling.count_macs`` (torch ``FlopCounterMode`` FLOPs / 2 with CPU fused
attention and analytic LSTM counts; FFTs are not counted). Prints two tables and writes
``benchmarks/results/frontends.json``.

    python benchmarks/bench_frontends.py [--repeats 5] [--seconds 4] [--threads 1] [--no-depth]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "results" / "frontends.json"
CROP = 64600

LATENCY_ROWS = [("whisper_tiny_en", None)] + [
    (preset, n) for preset in ("wavlm_base", "wavlm_large") for n in (3, 6, 12)
]


def build(upstream: str, layers: int | None) -> torch.nn.Module:
    """A front-end with random weights, in eval mode."""
    from voxguard.models.cm.ssl_cm import SSLCMConfig, build_frontend

    return build_frontend(SSLCMConfig(upstream=upstream, num_layers=layers)).eval()


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def macs(module: torch.nn.Module, *inputs: torch.Tensor) -> int:
    from voxguard.profiling import count_macs

    return count_macs(module, *inputs).total


def latency_table(seconds: float, repeats: int) -> list[dict]:
    """Interleaved rounds over all front-ends; median milliseconds per front-end."""
    wav = torch.randn(1, int(seconds * 16000)) * 0.1
    models = {f"{u}/{n or 'all'}": build(u, n) for u, n in LATENCY_ROWS}
    times: dict[str, list[float]] = {name: [] for name in models}
    with torch.inference_mode():
        for model in models.values():  # warm-up
            model(wav)
        for _ in range(repeats):
            for name, model in models.items():
                start = time.perf_counter()
                model(wav)
                times[name].append((time.perf_counter() - start) * 1e3)
    rows = []
    for (upstream, _), (name, model) in zip(LATENCY_ROWS, models.items(), strict=True):
        rows.append({
            "frontend": upstream,
            "layers": model.num_layers,
            "params": n_params(model),
            "macs": macs(model, wav),
            "median_ms": statistics.median(times[name]),
            "times_ms": times[name],
        })  # fmt: skip
    base = rows[0]["median_ms"]
    for row in rows:
        row["ratio_to_whisper"] = row["median_ms"] / base
    return rows


def depth_table() -> list[dict]:
    """Params / MACs of WavLM-Large and the AttM model at 24 / 12 / 6 / 3 layers."""
    from voxguard.frontends.merge import AttentiveMerge
    from voxguard.models.cm.attm import AttMHead

    wav = torch.randn(1, CROP) * 0.1
    head = AttMHead().eval()
    rows = []
    for layers in (24, 12, 6, 3):
        front = build("wavlm_large", layers)
        with torch.no_grad():
            hidden, _ = front(wav)
        row = {
            "layers": layers,
            "frontend_params": n_params(front),
            "frontend_macs": macs(front, wav),
        }
        del front
        gc.collect()
        merge = AttentiveMerge(layers, 1024).eval()
        with torch.no_grad():
            feats = merge(hidden)
        row.update(merge_params=n_params(merge), merge_macs=macs(merge, hidden),
                   head_params=n_params(head), head_macs=macs(head, feats))  # fmt: skip
        del merge, hidden
        gc.collect()
        row["total_params"] = row["frontend_params"] + row["merge_params"] + row["head_params"]
        row["total_macs"] = row["frontend_macs"] + row["merge_macs"] + row["head_macs"]
        rows.append(row)
    for row in rows:
        row["frontend_macs_vs_24"] = row["frontend_macs"] / rows[0]["frontend_macs"]
    return rows


def print_tables(lat: list[dict], depth: list[dict], seconds: float) -> None:
    print(
        f"\nLatency, {seconds:g} s of audio, batch 1, {torch.get_num_threads()} thread(s), random weights"
    )
    print(
        f"{'front-end':18s} {'layers':>6s} {'params':>9s} {'GMACs':>7s} {'median ms':>10s} {'x Whisper':>9s}"
    )
    for r in lat:
        print(f"{r['frontend']:18s} {r['layers']:6d} {r['params'] / 1e6:8.1f}M {r['macs'] / 1e9:7.2f} "
              f"{r['median_ms']:10.1f} {r['ratio_to_whisper']:9.2f}")  # fmt: skip
    if not depth:
        return
    print(f"\nWavLM-Large truncation ({CROP} samples): front-end, AttM merge, AttM model")
    print(f"{'layers':>6s} {'front params':>12s} {'front GMACs':>11s} {'vs 24':>6s} "
          f"{'merge params':>12s} {'merge GMACs':>11s} {'model params':>12s} {'model GMACs':>11s}")  # fmt: skip
    for r in depth:
        print(f"{r['layers']:6d} {r['frontend_params'] / 1e6:11.1f}M {r['frontend_macs'] / 1e9:11.2f} "
              f"{r['frontend_macs_vs_24']:6.2f} {r['merge_params'] / 1e6:11.2f}M {r['merge_macs'] / 1e9:11.2f} "
              f"{r['total_params'] / 1e6:11.1f}M {r['total_macs'] / 1e9:11.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (median reported)")
    parser.add_argument("--seconds", type=float, default=4.0, help="audio duration for latency")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--no-depth", action="store_true", help="skip the 24/12/6/3-layer table")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    lat = latency_table(args.seconds, args.repeats)
    depth = [] if args.no_depth else depth_table()
    print_tables(lat, depth, args.seconds)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "frontends",
        "seconds": args.seconds,
        "repeats": args.repeats,
        "threads": args.threads,
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "latency": lat,
        "depth": depth,
    }
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
