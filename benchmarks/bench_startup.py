"""Start-up cost of ``voxguard detect one.flac``: CPU of the whole process, torch and ONNX.

Runs ``voxguard detect`` on one 4-s file (the bundled demo clip) as a fresh process under
``/usr/bin/time -v``, for the default CM with the torch and ONNX backends and for the official
AASIST (torch, weights from ``../shared/anchors/aasist/``), in interleaved rounds so that load
drift hits all alike. Each process imports, loads the model, scores the file and exits: that is
the cost every ``detect``, ``verify``, ``demo`` and ``serve`` start pays. The ONNX export is made
once beforehand into a temporary cache (a user's second run), so the ONNX rows measure a start
from the cached export. Reports the median CPU (user + sys), wall time and peak memory per
configuration, the CPU ratio to AASIST, the load average at start and end, and the machine.
A last row times ``python -c "import torch"``: the floor of any process with the torch backend.
Writes ``benchmarks/results/startup.json``.

    python benchmarks/bench_startup.py [--rounds 3] [--model NAME]
"""

from __future__ import annotations

import argparse
import sys
import tempfile

from _common import (
    AASIST_PTH,
    REPO,
    add_cm_args,
    load,
    machine,
    median_of,
    python,
    timed_process,
    write_result,
)

OUT = REPO / "benchmarks" / "results" / "startup.json"
CLIP = REPO / "src" / "voxguard" / "assets" / "demo" / "speaker_a_test.flac"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    add_cm_args(ap, OUT)
    args = ap.parse_args()
    load_start = load()
    model = ["--model", args.model] if args.model else []
    configs = {
        "default CM, torch": [*python(), "detect", str(CLIP), *model],
        "default CM, onnx": [*python(), "detect", str(CLIP), *model, "--backend", "onnx"],
    }
    if AASIST_PTH.is_file():
        aasist = ["--model", "aasist", "--weights", str(AASIST_PTH)]
        configs["official AASIST, torch"] = [*python(), "detect", str(CLIP), *aasist]
    # The floor of any torch process: the interpreter importing torch and nothing else.
    configs["floor: python -c 'import torch'"] = [sys.executable, "-c", "import torch"]
    with tempfile.TemporaryDirectory() as tmp:
        env = {"VOXGUARD_CACHE": args.cache or tmp}
        timed_process(configs["default CM, onnx"], env)  # export once into the cache
        runs: dict[str, list[dict[str, float]]] = {k: [] for k in configs}
        for _ in range(args.rounds):
            for name, argv in configs.items():
                runs[name].append(timed_process(argv, env))
    rows = {name: median_of(r) for name, r in runs.items()}
    ref = rows.get("official AASIST, torch")
    for row in rows.values():
        row["cpu_ratio_to_aasist"] = row["cpu_s"] / ref["cpu_s"] if ref else None
    result = {
        "benchmark": "startup: one `voxguard detect` process on a 4-s file",
        "clip": CLIP.name,
        "rounds": args.rounds,
        "threads": 1,
        "rows": rows,
        "load_average_start": load_start,
        "load_average_end": load(),
        "machine": machine(),
        "note": "median over interleaved rounds; CPU = user + sys of the whole process; "
        "compare ratios within one run",
    }
    print(f"voxguard detect, one 4-s file, fresh process; load {load_start} -> {load()}")
    print(
        f"{'configuration':32s} {'CPU s':>7s} {'wall s':>7s} {'peak MB':>8s} {'CPU vs AASIST':>14s}"
    )
    for name, r in rows.items():
        ratio = f"{r['cpu_ratio_to_aasist']:.2f}x" if r["cpu_ratio_to_aasist"] else "-"
        print(
            f"{name:32s} {r['cpu_s']:7.2f} {r['wall_s']:7.2f} {r['max_rss_kb'] / 1024:8.0f} "
            f"{ratio:>14s}"
        )
    write_result(args.out, result)


if __name__ == "__main__":
    main()
