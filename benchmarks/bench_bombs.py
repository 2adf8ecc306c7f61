"""Server memory under decompression bombs (issue 16): peak RSS above idle, 10 at once.

Starts ``voxguard serve`` (default bundled models, loopback, a fresh SQLite store and secret)
in a subprocess, waits until it is idle, then sends each kind of bomb from 10 client threads at
once for ``--rounds`` rounds, polling the server's RSS (``/proc/PID/status``) every 10 ms.
Kinds: the review's three probes (FLAC 655,350 Hz x 8 channels, Ogg Vorbis 192 kHz x 64
channels, 164-byte WAV at 1 Hz), a FLAC within rate and channel limits but over the decode
budget (192 kHz x 8 channels, 59 s), and a file as large as a default server still decodes and
scores (192 kHz x 8 channels, 10 s: 59 MiB of float32 under the 64 MiB budget). The score rate limit is switched off so that every request is
decoded; ``naive_decode_mib`` is what decoding the whole file at once (``sf.read``) would
allocate. Linux only. Writes ``benchmarks/results/bombs.json``.

    python benchmarks/bench_bombs.py [--rounds 2] [--clients 10] [--threads 1] [--debug-models]

``--debug-models`` serves the tiny debug models instead (fast start on a busy machine; the
decoding path measured is the same, the model's own activations are smaller).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import soundfile as sf

from voxguard.testing import bombs

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "results" / "bombs.json"


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident set size (or ``VmHWM``, its peak) of ``pid`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for pid {pid}")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Poller(threading.Thread):
    """Tracks the highest RSS of a process while running."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, rss_mib(self.pid))
            except (OSError, RuntimeError):  # the server exited
                return
            time.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: Path, threads: int, debug: bool) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [
        sys.executable, "-m", "voxguard.cli", "serve", "--port", str(port),
        "--db", str(tmp / "s.sqlite"), "--secret-file", str(tmp / "store.key"),
        "--score-rate", "0", "--threads", str(threads), "--log-level", "warning",
    ]  # fmt: skip
    if debug:
        cmd += ["--cm-model", "debug_cm", "--spk-model", "debug_spk"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 (kept open for the server's lifetime)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit((tmp / "server.log").read_text()[-2000:])
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def kinds() -> dict[str, bytes]:
    return {
        "flac_655kHz_8ch_59s": bombs.flac_bomb(59.0),
        "vorbis_192kHz_64ch_10s": bombs.vorbis_bomb(10.0),
        "wav_1Hz_164B": bombs.low_rate_wav(),
        "flac_192kHz_8ch_59s_over_budget": bombs.in_budget_bomb(59.0, 192_000, 8),
        "flac_192kHz_8ch_10s_largest_decoded": bombs.in_budget_bomb(10.0, 192_000, 8),
    }


def naive_mib(data: bytes) -> float:
    info = sf.info(io.BytesIO(data))
    return info.frames * info.channels * 4 / 2**20


def run_kind(url: str, pid: int, name: str, data: bytes, clients: int, rounds: int) -> dict:
    idle = rss_mib(pid)
    poller = Poller(pid)
    poller.start()
    cpu0, t0 = cpu_s(pid), time.monotonic()

    def one(_: int) -> int:
        with httpx.Client(base_url=url, timeout=600) as c:
            return c.post("/detect", files={"file": (f"{name}.bin", data)}).status_code

    with ThreadPoolExecutor(clients) as pool:
        codes = list(pool.map(one, range(clients * rounds)))
    poller.stop.set()
    poller.join()
    return {
        "upload_bytes": len(data),
        "naive_decode_mib": round(naive_mib(data), 1),
        "requests": len(codes),
        "status_codes": dict(Counter(codes)),
        "idle_rss_mib": round(idle, 1),
        "peak_rss_mib": round(poller.peak, 1),
        "peak_above_idle_mib": round(poller.peak - idle, 1),
        "server_cpu_s": round(cpu_s(pid) - cpu0, 2),
        "wall_s": round(time.monotonic() - t0, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2, help="requests per client and kind")
    ap.add_argument("--clients", type=int, default=10, help="concurrent uploads")
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the server")
    ap.add_argument("--debug-models", action="store_true", help="serve debug_cm / debug_spk")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    payloads = kinds()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(Path(tmp), args.threads, args.debug_models)
        try:
            with httpx.Client(base_url=url, timeout=120) as c:  # warm up: one real request
                c.post("/detect", files={"file": ("warm.flac", bombs.in_budget_bomb(2.0))})
            time.sleep(1.0)
            idle = rss_mib(proc.pid)
            results = {}
            for name, data in payloads.items():
                results[name] = run_kind(url, proc.pid, name, data, args.clients, args.rounds)
                print(name, json.dumps(results[name]), flush=True)
            worst = max(r["peak_rss_mib"] for r in results.values())
            report = {
                "benchmark": "benchmarks/bench_bombs.py",
                "server": "voxguard serve ("
                + ("debug models" if args.debug_models else "default bundled models")
                + ", default limits, --score-rate 0)",
                "clients": args.clients,
                "rounds": args.rounds,
                "torch_threads": args.threads,
                "idle_rss_mib": round(idle, 1),
                "peak_rss_mib": round(worst, 1),
                "peak_above_idle_mib": round(worst - idle, 1),
                "server_hwm_mib": round(rss_mib(proc.pid, "VmHWM"), 1),
                "limit_above_idle_mib": 1024,
                "kinds": results,
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                f"{platform.python_version()}",
            }
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(
        json.dumps({k: report[k] for k in ("idle_rss_mib", "peak_rss_mib", "peak_above_idle_mib")})
    )
    if report["peak_above_idle_mib"] > report["limit_above_idle_mib"]:
        raise SystemExit("peak RSS over the 1 GiB-above-idle bound")


if __name__ == "__main__":
    main()
