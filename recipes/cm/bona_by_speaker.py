"""Where a CM bundle's errors on the engine eval come from: bona fide by speaker and channel,
spoofs by attack, through the real inference path, and each fusion branch's mean log-odds.

python recipes/cm/bona_by_speaker.py BUNDLE --engine data/voxguard-engine-l --out results/NAME.json

The pooled eval EER mixes three things: unseen attack families, unseen bona fide speakers and
the channels both went through. This splits them at the bundle's shipped threshold:
- bona fide called spoof per (source corpus, speaker), and per channel;
- spoofs called bona fide per attack;
- for a ``fused_attm_lcnn`` bundle, each leaf branch's mean log-odds on the first 4-s window of
  every clean (no channel) LibriSpeech-mini file, grouped as above — which branch a group's
  errors come from;
- each eval bona fide speaker's long-term spectrum slope: the speech-frame level at 6-8 kHz
  relative to 0.3-3 kHz (dB), the recording colour that ``train_waveform.py --colour`` targets.
With ``--data`` (the shared data folder), the same per-speaker split for the 100 whole
``librispeech-test-other`` utterances (bona fide, never trained on): called spoof at the
shipped threshold, each leaf branch's mean log-odds on the first 4-s window, and the slope.
Report only: nothing here chooses anything.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from features import WINDOW, engine_rows  # noqa: E402

from voxguard.api import SpoofDetector  # noqa: E402
from voxguard.audio.crop import tile_to  # noqa: E402
from voxguard.audio.io import load_audio  # noqa: E402
from voxguard.metrics.det import eer  # noqa: E402


def leaf_scores(model: torch.nn.Module, x: torch.Tensor) -> list[float]:
    """Log-odds of every leaf branch of a (nested) ``FusedCM``, depth first."""
    if not hasattr(model, "branches"):
        logits = model(x)[0]
        return [float(logits[1] - logits[0])]
    out: list[float] = []
    for branch in model.branches:
        out += leaf_scores(branch, x)
    return out


def hf_slope_db(wav: np.ndarray, rate: int = 16000) -> float:
    """Level of 6-8 kHz relative to 0.3-3 kHz (dB) over the loudest 70 % of 32-ms frames."""
    n = 512
    frames = np.lib.stride_tricks.sliding_window_view(wav, n)[:: n // 2] * np.hanning(n)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    power = power[power.sum(1) > np.percentile(power.sum(1), 30)].mean(0)
    f = np.fft.rfftfreq(n, 1 / rate)
    band = lambda lo, hi: 10 * np.log10(power[(f >= lo) & (f < hi)].mean() + 1e-12)  # noqa: E731
    return float(band(6000, 8000) - band(300, 3000))


def test_other_rows(data: Path) -> list[dict]:
    """The ``librispeech-test-other`` lines of the shared data manifest."""
    manifest = [json.loads(x) for x in (data / "manifest.jsonl").read_text().splitlines() if x]
    return [r for r in manifest if r["corpus"] == "librispeech-test-other"]


def first_window(wav: np.ndarray) -> torch.Tensor:
    """The first ``WINDOW`` samples (tiled when shorter) as a float (1, WINDOW) batch."""
    return torch.from_numpy(np.ascontiguousarray(tile_to(wav, WINDOW)[:WINDOW]))[None].float()


def rate_of(flags: list[bool]) -> dict[str, float]:
    return {"n": len(flags), "rate": round(float(np.mean(flags)), 4)}


def test_other_by_speaker(det: SpoofDetector, model, data: Path, thr: float) -> dict:
    """``librispeech-test-other`` (whole utterances, real inference path) split by speaker."""
    rows = test_other_rows(data)
    res = det.score_files([data / r["path"] for r in rows])
    called, leaf, slope = defaultdict(list), defaultdict(list), defaultdict(list)
    with torch.inference_mode():
        for r, x in zip(rows, res, strict=True):
            llr = x.calibrated if x.calibrated is not None else x.score
            called[r["speaker"]].append(llr < thr)
            wav = load_audio(data / r["path"], 16000)[0]
            leaf[r["speaker"]].append(leaf_scores(model, first_window(wav)))
            slope[r["speaker"]].append(hf_slope_db(wav))
    return {
        "called_spoof": rate_of([f for v in called.values() for f in v]),
        "called_spoof_by_speaker": {k: rate_of(v) for k, v in sorted(called.items())},
        "leaf_branch_mean_logodds_first_window": {
            k: [round(float(m), 3) for m in np.mean(v, 0)] for k, v in sorted(leaf.items())
        },
        "hf_slope_db_by_speaker": {k: round(float(np.median(v)), 1) for k, v in sorted(slope.items())},
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("bundle")
    ap.add_argument("--engine", default="data/voxguard-engine-l")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", help="shared data folder: add librispeech-test-other by speaker")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = [r for r in engine_rows(Path(args.engine)) if r["split"] == "eval"]
    t0, c0 = time.time(), time.process_time()
    det = SpoofDetector.from_pretrained(args.bundle, num_threads=args.threads)
    thr = det.decision_threshold
    res = det.score_files([r["path"] for r in rows])
    llr = np.array([x.calibrated if x.calibrated is not None else x.score for x in res], float)
    bona = np.array([r["label"] == "bonafide" for r in rows])
    out: dict = {
        "bundle": args.bundle,
        "threshold": thr,
        "eval_eer": round(float(eer(llr[bona], llr[~bona])[0]), 4),
    }
    groups: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for r, s in zip(rows, llr, strict=True):
        if r["label"] == "bonafide":
            groups["bonafide_called_spoof_by_speaker"][
                f"{r['source_corpus']}/{r['speaker']}"
            ].append(s < thr)
            groups["bonafide_called_spoof_by_channel"][r["channel"]].append(s < thr)
        else:
            groups["spoof_called_bonafide_by_attack"][r["attack"]].append(s >= thr)
    for name, g in groups.items():
        out[name] = {k: rate_of(v) for k, v in sorted(g.items())}

    model = det.model.eval()  # the detector's own module: the weights just scored
    clean = [r for r in rows if r["channel"] == "-" and r["source_corpus"] == "librispeech-mini"]
    leaf: dict[str, list[list[float]]] = defaultdict(list)
    slope: dict[str, list[float]] = defaultdict(list)
    with torch.inference_mode():
        for r in clean:
            wav = load_audio(r["path"], 16000)[0]
            x = first_window(wav)
            key = f"bonafide/{r['speaker']}" if r["label"] == "bonafide" else f"spoof/{r['attack']}"
            leaf[key].append(leaf_scores(model, x))
            if r["label"] == "bonafide":
                slope[r["speaker"]].append(hf_slope_db(wav))
    out["leaf_branch_mean_logodds_first_window_clean_mini"] = {
        k: {"n": len(v), "mean": [round(float(m), 3) for m in np.mean(v, 0)]}
        for k, v in sorted(leaf.items())
    }
    out["bonafide_hf_slope_db_by_speaker"] = {
        k: round(float(np.median(v)), 1) for k, v in sorted(slope.items())
    }
    if args.data:
        out["test_other"] = test_other_by_speaker(det, model, Path(args.data), thr)
    out["wall_s"], out["cpu_s"] = round(time.time() - t0, 1), round(time.process_time() - c0, 1)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    for name in ("bonafide_called_spoof_by_speaker", "bonafide_hf_slope_db_by_speaker"):
        print(name, json.dumps(out[name]))


if __name__ == "__main__":
    main()
