"""Files/second of ``voxguard score`` on 200 four-second files: torch vs ONNX Runtime, 1 and 2 threads.

The default CM is the bundled default when voxguard ships one, otherwise AASIST with the
official ``AASIST.pth`` from ``../shared/anchors/aasist`` (next to the repository). Each
configuration runs the whole ``voxguard score`` command once (model load included; the ONNX
export is made once beforehand and reused from the cache, as a user's second run would).
Prints a table, writes ``benchmarks/results/score.json``.

    python benchmarks/bench_score.py [--files 200] [--seconds 4] [--model NAME --weights PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED_AASIST = REPO.parent / "shared" / "anchors" / "aasist" / "AASIST.pth"


def default_cm() -> tuple[str, str | None]:
    """(model, weights) of the default CM."""
    from voxguard.api._load import default_model

    name = default_model("cm")
    if name is not None:
        return name, None
    if SHARED_AASIST.is_file():
        return "aasist", str(SHARED_AASIST)
    raise SystemExit(
        "no bundled CM and no ../shared/anchors/aasist/AASIST.pth: pass --model/--weights"
    )


def make_files(folder: Path, n: int, seconds: float) -> list[Path]:
    """``n`` generated speech-like wav files of ``seconds`` each."""
    from voxguard.testing.audio import write_wav

    return [write_wav(folder / f"utt{i:04d}.wav", seconds, seed=i) for i in range(n)]


def run_score(
    folder: Path, out: Path, model: str, weights: str | None, backend: str, threads: int
) -> float:
    """Wall seconds of one ``voxguard score`` run (its stdout is swallowed)."""
    import torch

    from voxguard.cli.main import main

    torch.set_num_threads(threads)
    argv = [
        "score",
        str(folder),
        "-o",
        str(out),
        "--model",
        model,
        "--backend",
        backend,
        "--threads",
        str(threads),
        "-q",
    ] + (["--weights", weights] if weights else [])
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        rc = main(argv)
    elapsed = time.perf_counter() - start
    if rc != 0:
        raise SystemExit(f"voxguard score failed with status {rc}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--model", default=None)
    parser.add_argument("--weights", default=None)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "score.json"))
    args = parser.parse_args()
    model, weights = (args.model, args.weights) if args.model else default_cm()

    import onnxruntime
    import torch

    from voxguard.api import SpoofDetector

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        os.environ.setdefault("VOXGUARD_CACHE", str(tmp_path / "cache"))
        folder = tmp_path / "audio"
        make_files(folder, args.files, args.seconds)
        SpoofDetector.from_pretrained(model, weights=weights, backend="onnx")  # export once
        reference = None
        for threads in args.threads:  # torch and onnx back to back, so load drift hits both
            for backend in ("torch", "onnx"):
                out = tmp_path / f"{backend}-{threads}.tsv"
                load_before = os.getloadavg()[0]
                wall = run_score(folder, out, model, weights, backend, threads)
                scores = np.array(
                    [float(line.split("\t")[1]) for line in out.read_text().splitlines()[1:]]
                )
                reference = scores if reference is None else reference
                rows.append(
                    {
                        "backend": backend,
                        "threads": threads,
                        "files": args.files,
                        "wall_s": wall,
                        "files_per_s": args.files / wall,
                        "max_abs_score_diff_vs_torch": float(np.max(np.abs(scores - reference))),
                        "load_avg_1min_before_after": [load_before, os.getloadavg()[0]],
                    }
                )
    print(f"voxguard score: {args.files} files of {args.seconds:g} s, model {model}")
    header = f"{'backend':8s} {'threads':>7s} {'wall s':>8s} {'files/s':>8s} {'max |Δscore|':>13s}"
    print(header + f" {'load 1min':>11s}")
    for r in rows:
        load = "{:.1f}->{:.1f}".format(*r["load_avg_1min_before_after"])
        print(
            f"{r['backend']:8s} {r['threads']:7d} {r['wall_s']:8.2f} {r['files_per_s']:8.2f} "
            f"{r['max_abs_score_diff_vs_torch']:13.2e} {load:>11s}"
        )
    result = {
        "benchmark": "voxguard score files/second",
        "model": model,
        "weights": Path(weights).name if weights else None,
        "files": args.files,
        "seconds_per_file": args.seconds,
        "runs_per_config": 1,
        "rows": rows,
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__,
            "load_average_1_5_15min_at_end": list(os.getloadavg()),
        },
        "note": "one run per configuration, model load included; the machine may be shared "
        "(see load_average): compare rows of one run, not absolute numbers across machines",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
