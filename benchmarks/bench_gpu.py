"""The shipped models on a CUDA GPU: time per 4-s input against the official AASIST on the same
GPU, the same machine's CPU as a second reference, and how far TF32 and bf16 move the scores.

Needs a CUDA device (run it where one is lent; it exits with a one-line message elsewhere).
In one process, after warm-up, in interleaved rounds so that clock and load drift hit all
alike, for each model (the default CM, the default speaker model, the official AASIST with
its published weights) and each batch size (1 and 64 inputs of 4 s; AASIST on its
64,600-sample crop):

- GPU, IEEE fp32 (TF32 off), fp32 with TF32 convolutions and matrix products (PyTorch's
  default for cuDNN convolutions), and bf16 autocast: median milliseconds per batch, timed
  with ``torch.cuda.synchronize`` around each call;
- the same machine's CPU, one thread, batch 1: median CPU milliseconds per input.

Ratios are to the official AASIST in the same setting and run. Deviation from CPU fp32 on 64
synthetic-speech inputs: the largest absolute difference of the CM score (logit[1] − logit[0])
and the smallest cosine between speaker embeddings. Writes ``benchmarks/results/gpu.json``.

    python benchmarks/bench_gpu.py [--rounds 20] [--aasist PATH/AASIST.pth] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from _common import AASIST_PTH, REPO, conditions, interleaved, load

OUT = REPO / "benchmarks" / "results" / "gpu.json"
SECONDS = 4.0
AASIST_SAMPLES = 64_600
BATCHES = (1, 64)
MODES = ("fp32", "tf32", "bf16")


def _set_mode(mode: str) -> None:
    tf32 = mode != "fp32"
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32


def _run(model: torch.nn.Module, x: torch.Tensor, mode: str) -> torch.Tensor:
    _set_mode(mode)
    with torch.inference_mode(), torch.autocast("cuda", torch.bfloat16, enabled=mode == "bf16"):
        return model(x).float()


def _gpu_ms(fns: dict[str, tuple], rounds: int) -> dict[str, float]:
    """Median ms per call of each (model, input, mode), interleaved, synchronised."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(3):  # warm-up (cuDNN algorithm choice, autocast caches)
        for model, x, mode in fns.values():
            _run(model, x, mode)
    torch.cuda.synchronize()
    for _ in range(rounds):
        for key, (model, x, mode) in fns.items():
            torch.cuda.synchronize()
            t = time.perf_counter()
            _run(model, x, mode)
            torch.cuda.synchronize()
            times[key].append(1e3 * (time.perf_counter() - t))
    return {k: statistics.median(v) for k, v in times.items()}


def _deviation(model: torch.nn.Module, task: str, x: torch.Tensor) -> dict[str, float]:
    """Largest |Δ CM score| or smallest embedding cosine of each GPU mode against CPU fp32."""
    cpu_model = model.to("cpu")
    with torch.inference_mode():
        ref = cpu_model(x).float()
    gpu_model = model.to("cuda")
    out = {}
    for mode in MODES:
        got = _run(gpu_model, x.cuda(), mode).cpu()
        if task == "cm":
            diff = (got[:, 1] - got[:, 0]) - (ref[:, 1] - ref[:, 0])
            out[mode] = round(diff.abs().max().item(), 6)
        else:
            out[mode] = round(torch.nn.functional.cosine_similarity(got, ref).min().item(), 6)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--aasist", type=Path, default=AASIST_PTH, help="official AASIST.pth")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("bench_gpu.py: no CUDA device on this machine; run it where a GPU is lent")
    if not args.aasist.is_file():
        sys.exit(f"bench_gpu.py: {args.aasist} not found; give the official weights with --aasist")
    load_start = load()
    torch.set_num_threads(1)
    from voxguard.api._load import DEFAULT_PREFERENCE
    from voxguard.models import create_model, load_pretrained, load_torch_checkpoint
    from voxguard.testing.audio import synthetic_speech

    aasist = create_model("aasist").eval()
    aasist.load_state_dict(load_torch_checkpoint(args.aasist), strict=True)
    models = {
        DEFAULT_PREFERENCE["cm"][0]: ("cm", load_pretrained(DEFAULT_PREFERENCE["cm"][0]).eval()),
        DEFAULT_PREFERENCE["spk"][0]: ("spk", load_pretrained(DEFAULT_PREFERENCE["spk"][0]).eval()),
        "official AASIST": ("cm", aasist),
    }
    length = {
        name: AASIST_SAMPLES if name == "official AASIST" else int(SECONDS * 16000)
        for name in models
    }
    speech = torch.stack(
        [torch.from_numpy(synthetic_speech(SECONDS, 16000, seed=s)).float() for s in range(64)]
    )
    inputs = {(n, b): speech[:b, : length[n]].contiguous() for n in models for b in BATCHES}

    # CPU reference: one thread, batch 1, interleaved (on this machine's processor)
    cpu_fns = {}
    for name, (_task, model) in models.items():
        x = inputs[(name, 1)]

        def call(model=model, x=x):
            with torch.inference_mode():
                model(x)

        cpu_fns[name] = call
    cpu = interleaved(cpu_fns, rounds=max(5, args.rounds // 4), warmup=2)

    deviation = {
        name: _deviation(m, task, speech[:, : length[name]]) for name, (task, m) in models.items()
    }
    for _task, model in models.values():
        model.to("cuda")
    fns = {
        f"{name}|{b}|{mode}": (model, inputs[(name, b)].cuda(), mode)
        for name, (_t, model) in models.items()
        for b in BATCHES
        for mode in MODES
    }
    gpu = _gpu_ms(fns, args.rounds)
    _set_mode("tf32")  # back to PyTorch's defaults for cuDNN (matmul default is off)
    torch.backends.cuda.matmul.allow_tf32 = False

    rows = []
    for name, (task, model) in models.items():
        for b in BATCHES:
            for mode in MODES:
                ms = gpu[f"{name}|{b}|{mode}"]
                ref = gpu[f"official AASIST|{b}|{mode}"]
                rows.append(
                    {
                        "model": name,
                        "task": task,
                        "params": sum(p.numel() for p in model.parameters()),
                        "batch": b,
                        "mode": mode,
                        "gpu_ms_per_batch": round(ms, 4),
                        "gpu_ms_per_input": round(ms / b, 5),
                        "ratio_to_aasist_same_setting": round(ms / ref, 4),
                        "cpu_ms_per_input_1_thread": round(1e3 * cpu[name]["cpu_s"], 3),
                        "gpu_speedup_over_cpu_per_input": round(
                            1e3 * cpu[name]["cpu_s"] / (ms / b), 1
                        ),
                    }
                )
    props = torch.cuda.get_device_properties(0)
    result = {
        "benchmark": "shipped models on a CUDA GPU, per 4-s input (AASIST: 64,600 samples)",
        "rounds": args.rounds,
        "rows": rows,
        "deviation_from_cpu_fp32": {
            n: {"measure": "max |delta score|" if models[n][0] == "cm" else "min cosine", **d}
            for n, d in deviation.items()
        },
        "gpu": {
            "name": props.name,
            "memory_gib": round(props.total_memory / 2**30, 1),
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(),
        },
        **conditions(load_start),
        "note": "medians of interleaved rounds after warm-up, each call synchronised; compare "
        "ratios within one run. CPU: the GPU machine's processor, one thread, batch 1.",
    }
    print(f"{props.name}; load {load_start} -> {load()}")
    print(
        f"{'model':26s} {'batch':>5s} {'mode':>5s} {'ms/batch':>9s} {'ms/input':>9s} "
        f"{'vs AASIST':>9s} {'CPU ms/input':>12s} {'speed-up':>8s}"
    )
    for r in rows:
        print(
            f"{r['model']:26s} {r['batch']:5d} {r['mode']:>5s} {r['gpu_ms_per_batch']:9.3f} "
            f"{r['gpu_ms_per_input']:9.4f} {r['ratio_to_aasist_same_setting']:9.3f} "
            f"{r['cpu_ms_per_input_1_thread']:12.1f} {r['gpu_speedup_over_cpu_per_input']:8.1f}"
        )
    print("deviation from CPU fp32:", json.dumps(result["deviation_from_cpu_fp32"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
