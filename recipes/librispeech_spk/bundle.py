"""Re-save trained weights with a full model card (for ``src/voxguard/pretrained/``).

Usage: python bundle.py WEIGHTS_DIR RESULTS_JSON OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import voxguard


def main(weights: str, results: str, out_dir: str) -> None:
    model = voxguard.load_pretrained(weights)
    res = json.loads(Path(results).read_text())
    train_cfg = json.loads((Path(weights) / "train_config.json").read_text())
    card = {
        "sample_rate": 16000,
        "frontend": "Kaldi fbank, 80 mel bins, 25 ms / 10 ms, povey, pre-emphasis 0.97, CMN (voxguard Fbank)",
        "input": "waveform (B, T) float32 in [-1, 1], any length",
        "score": "cosine similarity of speaker embeddings",
        "polarity": "higher = same speaker (target)",
        "training_data": "LibriSpeech (CC BY 4.0): librispeech-mini (28 speakers, 1,519 utterances) + "
        "librispeech-cohort (251 speakers incl. those 28, 1 utterance each), first 6 s",
        "training": {
            k: train_cfg[k]
            for k in (
                "steps",
                "batch_size",
                "crop_frames",
                "lr",
                "margin",
                "scale",
                "kd_teacher",
                "kd_weight",
                "kd_kind",
            )
        },
        "licence": "weights MIT (voxguard); training data CC BY 4.0 (LibriSpeech, Panayotov et al.)",
        "evaluation": {
            "data": "LibriSpeech test-other, 10 unseen speakers x 10 utterances, all 4,950 pairs "
            f"({res['n_target']} target)",
            "eer_pct_cosine": res["cosine"]["eer_pct"],
            "min_dcf_p01_cosine": res["cosine"]["min_dcf_p01"],
            "eer_pct_asnorm": res["asnorm"]["eer_pct"],
            "min_dcf_p01_asnorm": res["asnorm"]["min_dcf_p01"],
        },
        "recipe": "recipes/librispeech_spk",
    }
    if not card["training"].get("kd_teacher"):  # no distillation: the KD settings are unused
        card["training"] = {k: v for k, v in card["training"].items() if not k.startswith("kd_")}
    voxguard.save_pretrained(model, out_dir, card)


if __name__ == "__main__":
    main(*sys.argv[1:4])
