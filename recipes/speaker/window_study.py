"""How a speaker model should embed an utterance: whole, or the mean over sliding windows.

The students are trained on 1-3-s windows (100-300 frames) and ``SpeakerVerifier`` embeds any
input up to 20 s whole; Resemblyzer, the teacher, averages 1.6-s partials. This study measures,
for one model, the EER of each embedding policy on the dev speakers (the ``splits.py`` dev set:
every utterance of the 6 dev mini speakers and of the held-out cohort speakers, all pairs) —
which chooses — and on LibriSpeech test-other (all 4,950 pairs), which is reported after.

Policies: ``whole`` (the signal as one input) and ``w<W>`` (windows of W s with hop W/2, the
last aligned to the end, a shorter signal whole; the embedding is the mean of the windows'
L2-normalised outputs, ``w<W>raw`` the mean of the raw outputs, which is what ``Runner`` gives),
and the input policies of ``evaluate.py``: ``vad`` (whole, after cutting the long non-speech
stretches out: Silero VAD, pauses over 0.3 s kept to 0.1 s next to the speech, as the teacher trims
silences) and ``speed3`` (the mean unit embedding of the input at speed 1.0, 0.95 and 1.05).

Usage: python window_study.py DATA_DIR OUT_JSON MODEL [--policies whole,w2,w3,w4]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate import INPUT_POLICIES, embed_inputs, policy_inputs  # noqa: E402
from splits import splits  # noqa: E402

import voxguard  # noqa: E402
from voxguard.audio.crop import sliding_windows  # noqa: E402
from voxguard.audio.io import load_audio  # noqa: E402
from voxguard.metrics import sv_metrics  # noqa: E402
from voxguard.scoring.cosine import all_pairs_trials, cosine_matrix  # noqa: E402

SR = 16000


def windows(wav: np.ndarray, seconds: float) -> np.ndarray:
    """Windows of ``seconds`` with half-window hop, the last aligned to the end; a signal no
    longer than one window stays whole (``sliding_windows`` would tile-repeat it)."""
    length = int(seconds * SR)
    return wav[None] if len(wav) <= length else sliding_windows(wav, length, length // 2)


@torch.no_grad()
def embed(model: torch.nn.Module, wav: np.ndarray, policy: str) -> np.ndarray:
    if policy == "whole" or policy in INPUT_POLICIES:
        return embed_inputs(model, policy_inputs(wav, None if policy == "whole" else policy))
    raw = policy.endswith("raw")
    seconds = float(policy[1:].removesuffix("raw"))
    parts = windows(wav, seconds)
    out = model(torch.from_numpy(np.ascontiguousarray(parts)))  # equal lengths, or one whole signal
    if not raw:
        out = torch.nn.functional.normalize(out, dim=-1)
    return out.mean(0).numpy()


def eer_of(emb: np.ndarray, speakers: list[str]) -> dict[str, float]:
    i, j, same = all_pairs_trials(speakers)
    scores = cosine_matrix(emb, emb)[i, j]
    m = sv_metrics(scores[same], scores[~same])
    return {
        "eer_pct": round(100 * m["eer"], 3),
        "min_dcf_p01": round(float(m["min_dcf_p01"]), 4),
        "n_target": int(same.sum()),
        "n_nontarget": int((~same).sum()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("data_dir")
    ap.add_argument("out_json")
    ap.add_argument("model", help="weights directory or bundle name")
    ap.add_argument("--policies", default="whole,w1.6,w2,w3,w4,w3raw")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    model = voxguard.load_pretrained(args.model).eval()
    parts = splits(args.data_dir)
    sets = {"dev": parts["dev_mini"] + parts["dev_cohort"], "test_other": parts["test"]}
    waves = {
        name: [load_audio(Path(args.data_dir) / e["path"], SR)[0] for e in entries]
        for name, entries in sets.items()
    }
    result: dict = {
        "model": args.model,
        "sets": {
            k: {"utterances": len(v), "speakers": len({e["speaker"] for e in v})}
            for k, v in sets.items()
        },
        "policies": {},
    }
    for policy in args.policies.split(","):
        row: dict = {}
        c0 = time.process_time()
        for name, entries in sets.items():
            emb = np.stack([embed(model, w, policy) for w in waves[name]])
            row[name] = eer_of(emb, [e["speaker"] for e in entries])
        row["cpu_s"] = round(time.process_time() - c0, 1)
        result["policies"][policy] = row
        print(policy, json.dumps(row), flush=True)
    dev_best = min(result["policies"], key=lambda p: result["policies"][p]["dev"]["eer_pct"])
    result["chosen_on_dev"] = dev_best
    Path(args.out_json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
