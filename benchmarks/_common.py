"""Shared benchmark plumbing: CPU and wall time, interleaved rounds, load average, machine.

Every benchmark reports, from one run: CPU time and wall time per item, the ratio to the
official AASIST measured alongside in interleaved rounds, the load average at start and end
and the machine. On a shared machine CPU time per item is steadier than wall time, and ratios
within one run are what hold; absolute wall figures are not comparable across runs.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
AASIST_PTH = REPO.parent / "shared" / "anchors" / "aasist" / "AASIST.pth"


def machine() -> dict[str, Any]:
    """Platform, CPU model, core count and library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count()}
    for mod in ("torch", "onnxruntime", "numpy"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            pass
    return info


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


class Clock:
    """CPU (this process, all threads) and wall seconds of a block."""

    def __enter__(self) -> Clock:
        self.cpu0, self.wall0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu = time.process_time() - self.cpu0
        self.wall = time.perf_counter() - self.wall0


def interleaved(
    fns: dict[str, Callable[[], Any]],
    rounds: int,
    warmup: int = 1,
    min_sample_s: float = 0.0,
) -> dict[str, dict[str, float]]:
    """Median CPU and wall seconds per call of each function, timed in interleaved rounds.

    With ``min_sample_s`` a fast function's sample averages several back-to-back calls (sized
    from the last warm-up call, at most 50), so that timer resolution does not dominate.
    """
    inner = {k: 1 for k in fns}
    for _ in range(warmup):
        for name, fn in fns.items():
            with Clock() as c:
                fn()
            if min_sample_s:
                inner[name] = max(1, min(50, round(min_sample_s / max(c.wall, 1e-6))))
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    wall: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            with Clock() as c:
                for _ in range(inner[name]):
                    fn()
            cpu[name].append(c.cpu / inner[name])
            wall[name].append(c.wall / inner[name])
    return {
        k: {
            "cpu_s": statistics.median(cpu[k]),
            "wall_s": statistics.median(wall[k]),
            "calls_per_sample": inner[k],
        }
        for k in fns
    }


def official_aasist() -> Any | None:
    """The official AASIST as a torch module (eval mode, its published weights from
    ``../shared/anchors/aasist/``), or ``None`` where those weights are absent."""
    if not AASIST_PTH.is_file():
        return None
    from voxguard.api import SpoofDetector

    return SpoofDetector.from_pretrained("aasist", weights=AASIST_PTH).model.eval()


def conditions(load_start: list[float]) -> dict[str, Any]:
    """The fields every result carries: load average at start and end, and the machine."""
    return {"load_average_start": load_start, "load_average_end": load(), "machine": machine()}


_TIME_FIELDS = {
    "User time (seconds)": "user_s",
    "System time (seconds)": "sys_s",
    "Elapsed (wall clock) time (h:mm:ss or m:ss)": "wall_s",
    "Maximum resident set size (kbytes)": "max_rss_kb",
}


def timed_process(
    argv: list[str], env: dict[str, str] | None = None, stdout: list[str] | None = None
) -> dict[str, float]:
    """Run a command under ``/usr/bin/time -v``: user, sys, CPU, wall seconds and max RSS.

    Falls back to ``resource.getrusage(RUSAGE_CHILDREN)`` where GNU time is absent. The
    command's standard output is appended to ``stdout`` when a list is given.
    """
    env = {**os.environ, **(env or {})}
    if Path("/usr/bin/time").is_file():
        done = subprocess.run(
            ["/usr/bin/time", "-v", *argv], capture_output=True, text=True, env=env
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr[-1500:]}")
        if stdout is not None:
            stdout.append(done.stdout)
        out: dict[str, float] = {}
        for line in done.stderr.splitlines():
            key, _, value = line.strip().rpartition(": ")
            if key in _TIME_FIELDS:
                out[_TIME_FIELDS[key]] = _seconds(value) if "time" in key else float(value)
        out["cpu_s"] = out["user_s"] + out["sys_s"]
        return out
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, check=True, capture_output=True, text=True, env=env)
    if stdout is not None:
        stdout.append(done.stdout)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return {"user_s": user, "sys_s": system, "cpu_s": user + system, "wall_s": wall,
            "max_rss_kb": float(after.ru_maxrss)}  # fmt: skip


def _seconds(value: str) -> float:
    parts = [float(p) for p in re.split(r":", value.strip())]
    total = 0.0
    for p in parts:
        total = total * 60 + p
    return total


def python() -> list[str]:
    """This interpreter running the voxguard CLI."""
    return [sys.executable, "-m", "voxguard.cli.main"]


def median_of(rows: list[dict[str, float]]) -> dict[str, float]:
    """Field-wise median of several measurements."""
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


def add_cm_args(ap: Any, out: Path) -> None:
    """The options every default-CM benchmark takes: ``--model``, ``--cache``, ``--out``."""
    ap.add_argument("--model", default=None, help="CM to time (default: the bundled default)")
    ap.add_argument(
        "--cache", default=None, help="ONNX cache to reuse (default: a new temporary one)"
    )
    ap.add_argument("--out", type=Path, default=out)


def write_result(path: Path, result: dict[str, Any]) -> None:
    """Write a benchmark's JSON result and say where."""
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {os.path.relpath(path)}")
