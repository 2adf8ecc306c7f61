"""CPU cost of the SSL / Whisper front-ends, and what dropping WavLM-Large layers saves.

1. CPU and wall time of one 4 s utterance (batch 1) through the Whisper tiny.en and base
   encoders (log-mel included) and WavLM-Base / WavLM-Large truncated to 3 / 6 / 12 layers, all with
   random weights (the cost does not depend on them), and through the official AASIST (its
   published weights from ``../shared/anchors/aasist/``) as the reference, timed in the same
   run: rounds interleave the models so that CPU contention hits them alike; the median over
   rounds is reported with its CPU ratio to AASIST and to Whisper, the load average at start
   and end and the machine.
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
from pathlib import Path

import torch
from _common import REPO, conditions, interleaved, load, official_aasist, write_result

OUT = REPO / "benchmarks" / "results" / "frontends.json"
CROP = 64600

LATENCY_ROWS = [("whisper_tiny_en", None), ("whisper_base", None)] + [
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
    """Interleaved rounds over all front-ends and AASIST; median CPU and wall ms per call."""
    wav = torch.randn(1, int(seconds * 16000)) * 0.1
    models = {f"{u}/{n or 'all'}": build(u, n) for u, n in LATENCY_ROWS}
    fns = {name: (lambda m=model: m(wav)) for name, model in models.items()}
    aasist = official_aasist()
    if aasist is not None:
        fns["official AASIST"] = lambda: aasist(wav)
    with torch.inference_mode():
        timing = interleaved(fns, repeats, warmup=1)
    rows = []
    for (upstream, _), (name, model) in zip(LATENCY_ROWS, models.items(), strict=True):
        rows.append({
            "frontend": upstream,
            "layers": model.num_layers,
            "params": n_params(model),
            "macs": macs(model, wav),
            "cpu_ms": 1e3 * timing[name]["cpu_s"],
            "wall_ms": 1e3 * timing[name]["wall_s"],
        })  # fmt: skip
    if aasist is not None:
        rows.append({
            "frontend": "official AASIST (whole CM, reference)",
            "layers": 0,
            "params": n_params(aasist),
            "macs": macs(aasist, wav),
            "cpu_ms": 1e3 * timing["official AASIST"]["cpu_s"],
            "wall_ms": 1e3 * timing["official AASIST"]["wall_s"],
        })  # fmt: skip
    ref = rows[-1]["cpu_ms"] if aasist is not None else None
    for row in rows:
        row["cpu_ratio_to_whisper"] = row["cpu_ms"] / rows[0]["cpu_ms"]
        row["cpu_ratio_to_aasist"] = row["cpu_ms"] / ref if ref else None
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
        f"\nCPU and wall time, {seconds:g} s of audio, batch 1, {torch.get_num_threads()} thread(s), random weights"
    )
    print(
        f"{'front-end':38s} {'layers':>6s} {'params':>9s} {'GMACs':>7s} {'CPU ms':>8s} "
        f"{'wall ms':>8s} {'x Whisper':>9s} {'x AASIST':>9s}"
    )
    for r in lat:
        vs = f"{r['cpu_ratio_to_aasist']:9.3f}" if r["cpu_ratio_to_aasist"] else f"{'-':>9s}"
        print(f"{r['frontend']:38s} {r['layers']:6d} {r['params'] / 1e6:8.1f}M {r['macs'] / 1e9:7.2f} "
              f"{r['cpu_ms']:8.1f} {r['wall_ms']:8.1f} {r['cpu_ratio_to_whisper']:9.2f} {vs}")  # fmt: skip
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
    parser.add_argument(
        "--no-depth",
        action="store_true",
        help="skip the 24/12/6/3-layer table (params and MACs: the last run's table is kept)",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    load_start = load()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    lat = latency_table(args.seconds, args.repeats)
    if not args.no_depth:
        depth, depth_note = depth_table(), "measured in this run"
    else:  # params and MACs do not depend on the load: keep the last run's table
        previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
        depth = previous.get("depth", [])
        depth_note = "kept from the previous run of this script (--no-depth)" if depth else "-"
    cond = conditions(load_start)
    print_tables(lat, depth, args.seconds)
    print(f"load {load_start} -> {cond['load_average_end']}")
    result = {
        "benchmark": "frontends: CPU and wall per call, batch 1, and WavLM-Large depth",
        "seconds": args.seconds,
        "repeats": args.repeats,
        "threads": args.threads,
        "latency": lat,
        "depth": depth,
        "depth_source": depth_note,
        **cond,
        "note": "median of interleaved rounds; CPU = this process; compare ratios within one run",
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()
