"""How a CM behaves off its training distribution: bona fide speech through channels, and
adversarially trivial inputs.

Scores LibriSpeech test-other bona fide utterances (real speech, never seen by the model) clean,
through codecs (mp3, opus, mu-law 8 kHz), with white noise at 20 / 5 dB SNR and through a
simulated replay (a synthetic room impulse response + a loudspeaker band-pass), and scores
trivial inputs (digital silence, near-silence, DC, tones, white noise, clicks). Reports the
mean score and the false-rejection rate (share of bona fide scored below the threshold) per
condition, and the verdict the API gives on trivial inputs (``no_speech`` gate included).

Cost: the CPU (this process) and wall time per utterance of each condition's scoring (channel
simulation excluded), and, when ``--model`` is not the official AASIST, the official AASIST
(its published weights, same backend) timed on the clean utterances in interleaved rounds with
the model, for the CPU ratio; the load average at start and end and the machine.

Usage:
    python benchmarks/cm_robustness.py --weights ../shared/anchors/aasist/AASIST.pth [--n 30]
    python benchmarks/cm_robustness.py --model lcnn_spec_engine --out benchmarks/results/cm_robustness_default.json

A bundle with a calibration is judged at its shipped operating point (the API's decision; the
mean score is the calibrated LLR); a model without one (the official AASIST) on its raw score
against ``--threshold`` (default 0).

Prints a table and writes benchmarks/results/cm_robustness.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from _common import AASIST_PTH, Clock, conditions, interleaved, load, write_result
from scipy.signal import butter, fftconvolve, sosfilt

from voxguard.api import SpoofDetector
from voxguard.audio import load_audio
from voxguard.audio.augment import apply_codec

SR = 16000


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    noise = rng.standard_normal(len(x))
    scale = np.sqrt(np.mean(x**2) / (np.mean(noise**2) * 10 ** (snr_db / 10)))
    return (x + scale * noise).astype(np.float32)


def replay(x: np.ndarray, rng: np.random.Generator, rt60: float = 0.4) -> np.ndarray:
    """Loudspeaker (200 Hz - 6 kHz band-pass) into a room (exponentially decaying noise RIR)."""
    t = np.arange(int(rt60 * SR)) / SR
    rir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
    rir[0] = 1.0
    sos = butter(4, [200, 6000], btype="bandpass", fs=SR, output="sos")
    y = fftconvolve(sosfilt(sos, x), rir)[: len(x)]
    return (0.9 * y / max(np.abs(y).max(), 1e-9) * np.abs(x).max()).astype(np.float32)


def trivial_inputs(rng: np.random.Generator, seconds: float = 4.0) -> dict[str, np.ndarray]:
    n = int(seconds * SR)
    t = np.arange(n) / SR
    return {
        "digital silence": np.zeros(n),
        "near-silence (-80 dBFS noise)": 1e-4 * rng.standard_normal(n),
        "DC offset": np.full(n, 0.1),
        "tone 440 Hz": 0.3 * np.sin(2 * np.pi * 440 * t),
        "white noise": 0.1 * rng.standard_normal(n),
        "clicks": (np.arange(n) % 800 == 0) * 0.9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="aasist")
    parser.add_argument("--weights", default=None, help="weights file (default: the official AASIST's for aasist)")
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--n", type=int, default=30, help="bona fide utterances")
    parser.add_argument("--threshold", type=float, default=None,
                        help="decision threshold (default: the bundle's operating point; 0 on AASIST's raw score)")
    parser.add_argument("--backend", default="onnx", choices=["torch", "onnx"])
    parser.add_argument("--out", default="benchmarks/results/cm_robustness.json")
    args = parser.parse_args()
    if args.model == "aasist":
        args.weights = args.weights or str(AASIST_PTH)
        args.threshold = 0.0 if args.threshold is None else args.threshold
    load_start = load()

    rng = np.random.default_rng(0)
    data = Path(args.data)
    records = [json.loads(line) for line in (data / "manifest.jsonl").read_text().splitlines()]
    files = sorted(r["path"] for r in records if r["corpus"] == "librispeech-test-other")
    files = [files[i] for i in np.linspace(0, len(files) - 1, args.n).astype(int)]
    clean = [load_audio(data / f)[0] for f in files]

    cm = SpoofDetector.from_pretrained(
        args.model, weights=args.weights, backend=args.backend, threshold=args.threshold
    )
    conditions_ = {
        "clean": lambda x: x,
        "mp3": lambda x: apply_codec(x, "mp3"),
        "opus": lambda x: apply_codec(x, "opus"),
        "mu-law 8 kHz": lambda x: apply_codec(x, "ulaw8k"),
        "noise 20 dB SNR": lambda x: add_noise(x, 20, rng),
        "noise 5 dB SNR": lambda x: add_noise(x, 5, rng),
        "replay (RIR + speaker)": lambda x: replay(x, rng),
    }
    rows = []
    for name, fn in conditions_.items():
        arrays = [fn(x) for x in clean]
        with Clock() as c:
            dets = cm.score_arrays(arrays, SR)
        # the calibrated LLR where the bundle has a calibration (its threshold applies to it)
        scores = np.array([d.score if d.calibrated is None else d.calibrated for d in dets])
        rows.append(
            {
                "condition": name,
                "n": len(scores),
                "mean_score": float(scores.mean()),
                "false_rejection_rate": float(np.mean([d.decision == "spoof" for d in dets])),
                "no_speech": int(sum(d.decision == "no_speech" for d in dets)),
                "cpu_ms_per_utterance": 1e3 * c.cpu / len(arrays),
                "wall_ms_per_utterance": 1e3 * c.wall / len(arrays),
            }
        )
    trivial = []
    for name, x in trivial_inputs(rng).items():
        det = cm.score_array(x.astype(np.float32), SR, label=name)
        trivial.append(
            {
                "input": name,
                "score": det.score,
                "decision": det.decision,
                "speech_fraction": det.speech_fraction,
            }
        )
    cost = {"seconds_of_audio": float(np.mean([len(x) for x in clean]) / SR)}
    official = args.model == "aasist" and Path(args.weights).resolve() == AASIST_PTH.resolve()
    if not official and AASIST_PTH.is_file():
        ref = SpoofDetector.from_pretrained("aasist", weights=AASIST_PTH, backend=args.backend)
        subset = clean[: min(len(clean), 10)]
        timing = interleaved(
            {
                "model": lambda: cm.score_arrays(subset, SR),
                "official AASIST": lambda: ref.score_arrays(subset, SR),
            },
            rounds=2,
            warmup=0,
        )
        cost.update(
            {
                "timed_utterances": len(subset),
                "cpu_ms_per_utterance": 1e3 * timing["model"]["cpu_s"] / len(subset),
                "aasist_cpu_ms_per_utterance": 1e3
                * timing["official AASIST"]["cpu_s"]
                / len(subset),
                "cpu_ratio_to_aasist": timing["model"]["cpu_s"]
                / timing["official AASIST"]["cpu_s"],
            }
        )
    elif official:
        cost["cpu_ratio_to_aasist"] = 1.0
    cond = conditions(load_start)

    print(
        f"{args.model} ({args.weights or 'bundle'}), threshold {args.threshold if args.threshold is not None else 'of the bundle'}, "
        f"{args.n} LibriSpeech test-other bona fide utterances, {args.backend}; "
        f"load {load_start} -> {cond['load_average_end']}"
    )
    print(
        f"{'condition':26s} {'mean score':>10s} {'false rej.':>10s} {'no_speech':>9s} "
        f"{'CPU ms/utt':>10s}"
    )
    for r in rows:
        print(
            f"{r['condition']:26s} {r['mean_score']:>10.3f} "
            f"{100 * r['false_rejection_rate']:>9.1f}% {r['no_speech']:>9d} "
            f"{r['cpu_ms_per_utterance']:>10.1f}"
        )
    print(f"\n{'trivial input':30s} {'raw score':>9s} {'speech':>7s}  API decision")
    for t in trivial:
        print(f"{t['input']:30s} {t['score']:>+9.3f} {t['speech_fraction']:>7.2f}  {t['decision']}")
    print(f"\ncost: {cost}")
    write_result(
        Path(args.out),
        {
            "benchmark": "cm_robustness: bona fide speech through channels, trivial inputs",
            "model": args.model,
            "backend": args.backend,
            "threshold": args.threshold if args.threshold is not None else "bundle operating point",
            "bona_fide": rows,
            "trivial": trivial,
            "cost": cost,
            **cond,
            "note": "CPU = this process; compare ratios within one run",
        },
    )


if __name__ == "__main__":
    main()
