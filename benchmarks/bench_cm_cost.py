"""CPU cost of the default CM per 4-s file next to the official AASIST, and of its components.

In one process on one thread, batch 1, after warm-up, in interleaved rounds (so that load
drift hits all alike): the default CM in torch and through ONNX Runtime on its crop (4 s),
and the official AASIST (weights from ``../shared/anchors/aasist/``) on its 64,600-sample crop.
Then, for the default CM in torch, the CPU time spent in each component (its named children
and their children, measured with forward hooks; the rest is glue), with its share and its
MACs (``voxguard.profiling.count_macs``). Any registered architecture works: the components
are whatever children the model has. Reports median CPU and wall ms per file, the CPU ratio
to AASIST, the load average at start and end, and the machine. Writes
``benchmarks/results/cm_cost.json``.

    python benchmarks/bench_cm_cost.py [--rounds 7] [--model NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _common import AASIST_PTH, REPO, interleaved, load, machine

OUT = REPO / "benchmarks" / "results" / "cm_cost.json"


def component_times(model: torch.nn.Module, x: torch.Tensor, rounds: int) -> dict[str, float]:
    """Median CPU seconds per forward spent inside each child and grandchild module."""
    spent: dict[str, list[float]] = {}
    starts: dict[str, float] = {}
    hooks = []
    for name, module in model.named_modules():
        if name and name.count(".") <= 1:

            def pre(_m, _i, name=name):
                starts[name] = time.process_time()

            def post(_m, _i, _o, name=name):
                spent.setdefault(name, []).append(time.process_time() - starts[name])

            hooks += [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]
    total = []
    with torch.inference_mode():
        model(x)
        spent.clear()
        for _ in range(rounds):
            t = time.process_time()
            model(x)
            total.append(time.process_time() - t)
    for h in hooks:
        h.remove()
    calls = {k: len(v) // rounds or 1 for k, v in spent.items()}
    out = {k: statistics.median(v) * calls[k] for k, v in spent.items() if v}
    out["(whole model)"] = statistics.median(total)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--model", default=None, help="CM (default: the bundled default)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    load_start = load()
    from voxguard.api import SpoofDetector
    from voxguard.profiling import count_macs

    os.environ.setdefault("VOXGUARD_CACHE", tempfile.mkdtemp())
    det = SpoofDetector.from_pretrained(args.model, num_threads=1)
    onnx = SpoofDetector.from_pretrained(args.model, backend="onnx", num_threads=1)
    length = det.runner.policy.length
    rng = np.random.default_rng(0)
    crop = (0.1 * rng.standard_normal((1, length))).astype(np.float32)
    model = det.model.eval()
    x = torch.from_numpy(crop)
    fns = {
        f"{det.name} (torch)": lambda: det.runner.backend(crop),
        f"{det.name} (onnx)": lambda: onnx.runner.backend(crop),
    }
    aasist = None
    if AASIST_PTH.is_file():
        aasist = SpoofDetector.from_pretrained("aasist", weights=AASIST_PTH, num_threads=1)
        a_crop = (0.1 * rng.standard_normal((1, aasist.runner.policy.length))).astype(np.float32)
        fns["official AASIST (torch)"] = lambda: aasist.runner.backend(a_crop)
    timing = interleaved(fns, args.rounds, warmup=2)
    ref = timing.get("official AASIST (torch)")
    rows = {
        name: {
            "cpu_ms": 1e3 * t["cpu_s"],
            "wall_ms": 1e3 * t["wall_s"],
            "cpu_ratio_to_aasist": t["cpu_s"] / ref["cpu_s"] if ref else None,
        }
        for name, t in timing.items()
    }
    rows[f"{det.name} (torch)"]["gmacs"] = count_macs(model, x).total / 1e9
    if aasist is not None:
        a_x = torch.from_numpy(a_crop)
        rows["official AASIST (torch)"]["gmacs"] = count_macs(aasist.model, a_x).total / 1e9
    parts = component_times(model, x, args.rounds)
    whole = parts["(whole model)"]
    components = []
    for name, cpu in parts.items():
        module = model if name == "(whole model)" else model.get_submodule(name)
        components.append(
            {
                "component": name,
                "type": type(module).__name__,
                "cpu_ms": 1e3 * cpu,
                "share": cpu / whole,
                "params": sum(p.numel() for p in module.parameters()),
            }
        )
    result = {
        "benchmark": "CM CPU cost per file (batch 1, one thread)",
        "model": det.name,
        "crop_samples": length,
        "rounds": args.rounds,
        "rows": rows,
        "components": components,
        "load_average_start": load_start,
        "load_average_end": load(),
        "machine": machine(),
        "note": "median of interleaved rounds after warm-up; compare ratios within one run",
    }
    print(f"CM cost per file, 1 thread, batch 1; load {load_start} -> {load()}")
    print(f"{'model':40s} {'CPU ms':>8s} {'wall ms':>8s} {'GMACs':>6s} {'CPU vs AASIST':>13s}")
    for name, r in rows.items():
        ratio = f"{r['cpu_ratio_to_aasist']:.3f}" if r["cpu_ratio_to_aasist"] else "-"
        macs = f"{r['gmacs']:.2f}" if "gmacs" in r else "-"
        print(f"{name:40s} {r['cpu_ms']:8.1f} {r['wall_ms']:8.1f} {macs:>6s} {ratio:>13s}")
    print(f"\ncomponents of {det.name} (torch), CPU ms per {length / 16000:g}-s crop")
    for c in components:
        print(
            f"  {c['component']:34s} {c['type']:22s} {c['cpu_ms']:8.1f} {100 * c['share']:5.1f} %"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
