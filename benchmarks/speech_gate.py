"""Does the speech gate call non-speech ``no_speech`` and real speech not? (issue 13)

Runs :func:`voxguard.audio.activity.speech_fraction` (Silero VAD, or the energy fallback when
silero-vad is absent) and the API's rule (``no_speech`` when under ``MIN_SPEECH`` = 5 % of the
scored audio is speech) on:

- generated non-speech, 1 / 4 / 10 s, several seeds: digital silence, near-silence, white and
  pink noise, brown noise, pure tones, an AM tone, chords, a melody of harmonic notes, clicks,
  drum-like noise bursts, a chirp;
- real speech: LibriSpeech test-other cut into 1-s crops (every crop of the first 10 s of each
  file) and whole files, and FSDD spoken digits (8 kHz telephone-band speech, resampled to
  16 kHz as the API does; many are under 0.5 s).

Short inputs are tile-repeated to the 4-s window as the API scores them. Reports the share
called ``no_speech`` per set (non-speech must be 100 %, speech ~0 %) and the CPU time of the
VAD per second of audio. Prints a table, writes ``benchmarks/results/speech_gate.json``.

    python benchmarks/speech_gate.py [--fsdd-every 1] [--crops 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from voxguard.api.detector import MIN_SPEECH
from voxguard.audio import load_audio
from voxguard.audio.activity import describe, speech_fraction
from voxguard.audio.crop import eval_crop

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
OUT = REPO / "benchmarks" / "results" / "speech_gate.json"
SR = 16000
WINDOW = 64000


def non_speech(rng: np.random.Generator, seconds: float) -> dict[str, np.ndarray]:
    """Generated signals that hold no speech."""
    n = int(seconds * SR)
    t = np.arange(n) / SR

    def norm(x: np.ndarray, peak: float = 0.3) -> np.ndarray:
        return (peak * x / max(np.abs(x).max(), 1e-12)).astype(np.float32)

    def coloured(power: float) -> np.ndarray:
        f = np.fft.rfft(rng.standard_normal(n))
        k = np.maximum(np.arange(f.size), 1)
        return np.fft.irfft(f / k**power, n)

    notes = rng.choice([220, 247, 262, 294, 330, 349, 392, 440, 494, 523], max(1, int(seconds * 4)))
    seg = n // len(notes)
    melody = np.zeros(n)
    for i, f in enumerate(notes):
        tt = t[:seg]
        melody[i * seg : (i + 1) * seg] = np.exp(-3 * tt) * sum(
            np.sin(2 * np.pi * f * k * tt) / k for k in range(1, 6)
        )
    drums = np.zeros(n)
    for s in range(0, n, SR // 4):
        m = min(2000, n - s)
        drums[s : s + m] += rng.standard_normal(m) * np.exp(-np.arange(m) / 300)
    clicks = np.zeros(n)
    clicks[:: SR // 8] = 1.0
    return {
        "digital silence": np.zeros(n, dtype=np.float32),
        "near-silence (-80 dBFS)": (1e-4 * rng.standard_normal(n)).astype(np.float32),
        "white noise": norm(rng.standard_normal(n)),
        "pink noise": norm(coloured(0.5)),
        "brown noise": norm(coloured(1.0)),
        "tone 440 Hz": norm(np.sin(2 * np.pi * 440 * t)),
        "tone 1 kHz": norm(np.sin(2 * np.pi * 1000 * t)),
        "AM tone": norm(np.sin(2 * np.pi * 300 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))),
        "chord (C major)": norm(sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0))),
        "melody (harmonic notes)": norm(melody),
        "clicks": norm(clicks, 0.8),
        "drum-like bursts": norm(drums),
        "chirp 100 Hz-4 kHz": norm(np.sin(2 * np.pi * (100 * t + (3900 / (2 * seconds)) * t**2))),
    }


def as_scored(x: np.ndarray) -> np.ndarray:
    """What the API's VAD sees: one tile-repeated window for inputs under the window."""
    return eval_crop(x, WINDOW) if x.size <= WINDOW else x


def fraction(x: np.ndarray) -> float:
    if x.size <= WINDOW:
        return float(speech_fraction(as_scored(x), SR))
    starts = list(range(0, x.size - WINDOW + 1, WINDOW))
    if starts[-1] + WINDOW < x.size:
        starts.append(x.size - WINDOW)
    return float(np.mean([speech_fraction(x[s : s + WINDOW], SR) for s in starts]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--crops", type=int, default=10, help="1-s crops per LibriSpeech file")
    ap.add_argument("--fsdd-every", type=int, default=1, help="use every k-th FSDD file")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    load_start = os.getloadavg()
    cpu0, audio_s = time.process_time(), 0.0
    rows: dict[str, list[float]] = {}
    rng = np.random.default_rng(0)
    for seconds in (1.0, 4.0, 10.0):
        for _ in range(args.seeds):
            for name, x in non_speech(rng, seconds).items():
                rows.setdefault(f"non-speech: {name}", []).append(fraction(x))
                audio_s += max(x.size, WINDOW) / SR
    libri = sorted((SHARED / "librispeech-test-other").rglob("*.flac"))
    fsdd = sorted((SHARED / "fsdd").rglob("*.flac"))[:: args.fsdd_every]
    for path in libri:
        x, _ = load_audio(path, SR)
        rows.setdefault("speech: LibriSpeech test-other, whole files", []).append(fraction(x))
        audio_s += x.size / SR
        for k in range(min(args.crops, x.size // SR)):
            crop = x[k * SR : (k + 1) * SR]
            rows.setdefault("speech: LibriSpeech test-other, 1-s crops", []).append(fraction(crop))
            audio_s += WINDOW / SR
    for path in fsdd:
        x, _ = load_audio(path, SR)
        rows.setdefault("speech: FSDD digits (8 kHz), whole files", []).append(fraction(x))
        audio_s += WINDOW / SR
    cpu = time.process_time() - cpu0
    table = []
    for name, fr in rows.items():
        fr_arr = np.array(fr)
        table.append(
            {
                "set": name,
                "n": len(fr),
                "no_speech_pct": round(100 * float((fr_arr < MIN_SPEECH).mean()), 2),
                "median_speech_fraction": round(float(np.median(fr_arr)), 3),
            }
        )
    vad = describe()
    print(f"speech gate: {vad['vad']} ({vad['model']}); no_speech when speech < {MIN_SPEECH:.0%}")
    print(f"{'set':52s} {'n':>6s} {'no_speech %':>12s} {'median speech':>14s}")
    for r in table:
        print(
            f"{r['set']:52s} {r['n']:6d} {r['no_speech_pct']:12.2f} {r['median_speech_fraction']:14.3f}"
        )
    print(f"VAD CPU: {1e3 * cpu / audio_s:.2f} ms per second of audio scored (incl. decoding)")
    result = {
        "benchmark": "speech_gate",
        "vad": vad,
        "min_speech": MIN_SPEECH,
        "rows": table,
        "cpu_ms_per_audio_s": 1e3 * cpu / audio_s,
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_average_1min_start_end": [load_start[0], os.getloadavg()[0]],
        },
        "missing_data": [
            d for d in ("librispeech-test-other", "fsdd") if not (SHARED / d).is_dir()
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
