"""Memory and CPU of ``voxguard detect`` on a 60-minute file with the default CM.

Writes a 60-minute speech-like 16 kHz WAV (``--minutes``) and a 4-s one, then runs
``voxguard detect --json`` as a fresh process under ``/usr/bin/time -v`` on each with the
default CM (torch backend), and the official AASIST (weights from ``../shared/anchors/aasist/``)
on the 4-s file as the reference, in interleaved rounds. The long file is streamed block by
block in windows (only the window scores are kept), so its peak memory should stay near the
4-s file's: reported are the peak RSS of each run and the difference, the windows scored, CPU
and wall time per run and per second of audio, the CPU ratio to AASIST per 4-s file, the load
average at start and end and the machine. Writes ``benchmarks/results/long_file.json``.

    python benchmarks/bench_long_file.py [--minutes 60] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from _common import (
    AASIST_PTH,
    REPO,
    add_cm_args,
    conditions,
    load,
    median_of,
    python,
    timed_process,
    write_result,
)

OUT = REPO / "benchmarks" / "results" / "long_file.json"


def write_long(path: Path, minutes: float) -> None:
    """A long speech-like WAV written minute by minute (never held whole in memory)."""
    import soundfile as sf

    from voxguard.testing.audio import synthetic_speech

    with sf.SoundFile(path, "w", 16000, 1, "PCM_16") as f:
        for m in range(int(minutes)):
            f.write(synthetic_speech(60.0, 16000, seed=m))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--rounds", type=int, default=1)
    add_cm_args(ap, OUT)
    args = ap.parse_args()
    load_start = load()
    model = ["--model", args.model] if args.model else []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = {"VOXGUARD_CACHE": args.cache or str(tmp / "cache")}
        long_wav, short_wav = tmp / "long.wav", tmp / "short.wav"
        write_long(long_wav, args.minutes)
        from voxguard.testing.audio import write_wav

        write_wav(short_wav, 4.0, seed=0)
        configs = {
            "default CM, 60-min file": [*python(), "detect", str(long_wav), "--json", *model],
            "default CM, 4-s file": [*python(), "detect", str(short_wav), "--json", *model],
        }
        if AASIST_PTH.is_file():
            aasist = ["--model", "aasist", "--weights", str(AASIST_PTH)]
            configs["official AASIST, 4-s file"] = [*python(), "detect", str(short_wav), *aasist]
        runs: dict[str, list[dict[str, float]]] = {k: [] for k in configs}
        printed: list[str] = []
        for _ in range(args.rounds):
            for name, argv in configs.items():
                runs[name].append(timed_process(argv, env, printed if "60-min" in name else None))
        record = json.loads(printed[-1].splitlines()[-1])
    rows = {name: median_of(r) for name, r in runs.items()}
    seconds = {"default CM, 60-min file": 60.0 * args.minutes}
    ref = rows.get("official AASIST, 4-s file")
    for name, row in rows.items():
        row["max_rss_mb"] = row.pop("max_rss_kb") / 1024
        row["audio_s"] = seconds.get(name, 4.0)
        row["cpu_s_per_audio_s"] = row["cpu_s"] / row["audio_s"]
    short = rows["default CM, 4-s file"]
    if ref:
        short["cpu_ratio_to_aasist"] = short["cpu_s"] / ref["cpu_s"]
    cond = conditions(load_start)
    result = {
        "benchmark": "long_file: `voxguard detect` on a 60-minute file, default CM (torch)",
        "minutes": args.minutes,
        "windows": record.get("n_windows"),
        "rows": rows,
        "peak_rss_added_mb": rows["default CM, 60-min file"]["max_rss_mb"] - short["max_rss_mb"],
        **cond,
        "note": "whole process (start-up included); CPU = user + sys; the 4-s rows' CPU is "
        "mostly start-up, so their ratio is a start-up ratio",
    }
    print(f"voxguard detect, {args.minutes:g}-minute file; load {load_start} -> "
          f"{cond['load_average_end']}; {record.get('n_windows')} windows")  # fmt: skip
    for name, r in rows.items():
        print(f"{name:28s} CPU {r['cpu_s']:7.2f} s  wall {r['wall_s']:7.2f} s  "
              f"peak {r['max_rss_mb']:6.0f} MB")  # fmt: skip
    print(f"peak memory added by the 60-minute file: {result['peak_rss_added_mb']:.0f} MB")
    write_result(args.out, result)


if __name__ == "__main__":
    main()
