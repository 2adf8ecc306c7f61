"""``voxguard score DIR``: files per second with ``--workers 1`` and ``2``, torch and ONNX.

Writes ``--files`` generated speech-like 4-s files, then runs the whole ``voxguard score``
command (a fresh process: start-up included) under ``/usr/bin/time`` for each configuration, in
interleaved rounds: the default CM with the torch and ONNX backends at ``--workers 1`` and
``--workers 2`` (one thread per worker), and the official AASIST (torch, ``--workers 1``, on the
first ``--aasist-files`` files: it is ~7x the CPU) as the reference. The ONNX export is made
once beforehand into a temporary cache. Reports per configuration the CPU time (user + sys, all
processes) and wall time per file, files/s, the speed-up of 2 workers over 1, the CPU ratio to
AASIST, whether the scores equal those of ``--workers 1``, the load average at start and end,
and the machine. Writes ``benchmarks/results/score.json``.

    python benchmarks/bench_score.py [--files 200] [--aasist-files 20] [--rounds 1]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
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

OUT = REPO / "benchmarks" / "results" / "score.json"


def make_files(folder: Path, n: int, seconds: float) -> None:
    from voxguard.testing.audio import write_wav

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        write_wav(folder / f"utt{i:04d}.wav", seconds, seed=i)


def read_scores(path: Path) -> np.ndarray:
    return np.array([float(line.split("\t")[1]) for line in path.read_text().splitlines()[1:]])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--aasist-files", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--rounds", type=int, default=1)
    add_cm_args(ap, OUT)
    args = ap.parse_args()
    load_start = load()
    model = ["--model", args.model] if args.model else []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = {"VOXGUARD_CACHE": args.cache or str(tmp / "cache")}
        make_files(tmp / "audio", args.files, args.seconds)
        make_files(tmp / "aasist", args.aasist_files, args.seconds)  # the first files again
        configs: dict[str, tuple[list[str], int]] = {}
        for backend in ("torch", "onnx"):
            for workers in (1, 2):
                out = tmp / f"{backend}-w{workers}.tsv"
                argv = [*python(), "score", str(tmp / "audio"), "-o", str(out), *model]
                argv += ["--backend", backend, "--workers", str(workers), "-q"]
                configs[f"default CM, {backend}, --workers {workers}"] = (argv, args.files)
        if AASIST_PTH.is_file() and args.aasist_files:
            out = tmp / "aasist.tsv"
            argv = [*python(), "score", str(tmp / "aasist"), "-o", str(out), "-q"]
            argv += ["--model", "aasist", "--weights", str(AASIST_PTH)]
            configs["official AASIST, torch, --workers 1"] = (argv, args.aasist_files)
        export = [*python(), "detect", str(next((tmp / "audio").iterdir())), *model]
        timed_process([*export, "--backend", "onnx"], env)  # export once into the cache
        runs: dict[str, list[dict[str, float]]] = {k: [] for k in configs}
        for _ in range(args.rounds):
            for name, (argv, _) in configs.items():
                runs[name].append(timed_process(argv, env))
        scores = {p.stem: read_scores(p) for p in tmp.glob("*.tsv")}
    rows = {}
    for name, (_, n) in configs.items():
        r = median_of(runs[name])
        rows[name] = {
            "files": n,
            "cpu_s_per_file": r["cpu_s"] / n,
            "wall_s_per_file": r["wall_s"] / n,
            "files_per_s": n / r["wall_s"],
            "max_rss_mb": r["max_rss_kb"] / 1024,
        }
    ref = rows.get("official AASIST, torch, --workers 1")
    for name, row in rows.items():
        row["cpu_ratio_to_aasist"] = row["cpu_s_per_file"] / ref["cpu_s_per_file"] if ref else None
        if "--workers 2" in name:
            one = rows[name.replace("--workers 2", "--workers 1")]
            row["speedup_over_workers_1"] = row["files_per_s"] / one["files_per_s"]
            backend = name.split(", ")[1]
            diff = np.abs(scores[f"{backend}-w2"] - scores[f"{backend}-w1"]).max()
            row["max_abs_score_diff_vs_workers_1"] = float(diff)
    result = {
        "benchmark": "voxguard score: files/s and CPU per file, workers 1 vs 2",
        "files": args.files,
        "seconds_per_file": args.seconds,
        "rounds": args.rounds,
        "rows": rows,
        "load_average_start": load_start,
        "load_average_end": load(),
        "machine": machine(),
        "note": "whole command (process start included); CPU = user + sys of all processes; "
        "the speed-up of 2 workers needs 2 idle cores: read it with the load average",
    }
    print(
        f"voxguard score, {args.files} files of {args.seconds:g} s; load {load_start} -> {load()}"
    )
    head = f"{'configuration':38s} {'CPU s/file':>10s} {'wall s/file':>11s} {'files/s':>8s}"
    print(head + f" {'x workers 1':>11s} {'CPU vs AASIST':>13s}")
    for name, r in rows.items():
        speed = f"{r['speedup_over_workers_1']:.2f}" if "speedup_over_workers_1" in r else "-"
        ratio = f"{r['cpu_ratio_to_aasist']:.3f}" if r["cpu_ratio_to_aasist"] else "-"
        print(
            f"{name:38s} {r['cpu_s_per_file']:10.3f} {r['wall_s_per_file']:11.3f} "
            f"{r['files_per_s']:8.2f} {speed:>11s} {ratio:>13s}"
        )
    write_result(args.out, result)


if __name__ == "__main__":
    main()
