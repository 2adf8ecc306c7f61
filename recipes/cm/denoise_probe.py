"""Report only (twentieth session): does a noise reducer move the shipped CM's branches?

python recipes/cm/denoise_probe.py [--data ../shared/data]

For the 10 utterances of four ``librispeech-test-other`` speakers (three the phase branch scores
well, 1998 / 2609 / 3005, and 3080, whom it rejects), the first 4-s window through the shipped
bundle's three leaf branches (32-ms, wide-band, phase; mean log-odds per speaker): as recorded,
through a plain spectral gate (each bin's 10th-percentile magnitude as the noise profile, bins
under ``k`` times it down by ``att`` dB, the 0/1 mask box-averaged over 5 bins x 7 frames), and
with the frames under -50 dBFS set to zero. The gate here is the probe's, simpler than the
training augmentation that followed it (``voxguard.audio.augment.noise_reduction``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bona_by_speaker import leaf_scores, test_other_rows  # noqa: E402
from features import WINDOW  # noqa: E402

from voxguard.api import SpoofDetector  # noqa: E402
from voxguard.audio.crop import tile_to  # noqa: E402
from voxguard.audio.io import load_audio  # noqa: E402

SPEAKERS = ("1998", "2609", "3005", "3080")


def gate(
    w: np.ndarray, k: float = 2.0, att_db: float = 30.0, n: int = 512, hop: int = 128
) -> np.ndarray:
    x = torch.from_numpy(w.astype(np.float32))
    win = torch.hann_window(n)
    spec = torch.stft(x, n, hop, window=win, return_complex=True)
    mag = spec.abs()
    noise = torch.quantile(mag, 0.1, dim=1, keepdim=True)
    g = (mag > k * noise).float()
    g = torch.nn.functional.avg_pool2d(g[None, None], (5, 7), 1, (2, 3))[0, 0]
    floor = 10 ** (-att_db / 20)
    return torch.istft(spec * (floor + (1 - floor) * g), n, hop, window=win, length=len(w)).numpy()


def silence_to_zero(w: np.ndarray, thr_db: float = -50.0) -> np.ndarray:
    level = 20 * np.log10(
        np.sqrt((np.lib.stride_tricks.sliding_window_view(w, 400)[::160] ** 2).mean(1)) + 1e-10
    )
    keep = np.zeros(len(w), bool)
    for i, lv in enumerate(level):
        if lv > thr_db:
            keep[i * 160 : i * 160 + 400] = True
    return np.where(keep, w, 0).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default=None, help="JSON to write (default: print only)")
    args = ap.parse_args()
    root = Path(args.data)
    model = SpoofDetector.from_pretrained("lcnn_triplesam_engine").model.eval()
    rows = [r for r in test_other_rows(root) if r["speaker"] in SPEAKERS]
    variants = {
        "as recorded": lambda z: z,
        "gate k 2, -30 dB": gate,
        "gate k 4, -40 dB": lambda z: gate(z, 4, 40),
        "frames under -50 dBFS zeroed": silence_to_zero,
    }
    scores: dict[str, dict[str, list]] = {s: {v: [] for v in variants} for s in SPEAKERS}
    with torch.inference_mode():
        for r in rows:
            first = tile_to(load_audio(root / r["path"], 16000)[0], WINDOW)[:WINDOW]
            for name, f in variants.items():
                y = np.ascontiguousarray(f(first)).astype(np.float32)
                scores[r["speaker"]][name].append(leaf_scores(model, torch.from_numpy(y)[None]))
    res = {
        s: {v: [round(float(m), 2) for m in np.mean(x, 0)] for v, x in d.items()}
        for s, d in scores.items()
    }
    print(json.dumps(res, indent=1))
    if args.out:
        Path(args.out).write_text(
            json.dumps({"branches": ["32-ms", "wide-band", "phase"], "by_speaker": res}, indent=1)
            + "\n"
        )


if __name__ == "__main__":
    main()
