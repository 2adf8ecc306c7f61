"""Speaker-verification EER / minDCF of a trained model on LibriSpeech test-other (all pairs).

Embeds every test-other utterance at full length through the model's own frontend (waveform
in), scores all 4,950 pairs of the 100 utterances by cosine, and optionally AS-norm with the
librispeech-cohort utterances (251 speakers, disjoint from test-other) as the cohort.

Usage: python evaluate.py DATA_DIR WEIGHTS_DIR [OUT_JSON]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

import voxguard
from voxguard.audio.io import load_audio
from voxguard.metrics import sv_metrics
from voxguard.scoring.cosine import all_pairs_trials, cosine_matrix
from voxguard.scoring.norm import as_norm_matrix


@torch.no_grad()
def embed(model: torch.nn.Module, data_dir: Path, entries: list[dict]) -> np.ndarray:
    out = []
    for e in entries:
        wav, _ = load_audio(data_dir / e["path"], 16000)
        out.append(model(torch.from_numpy(wav)[None])[0].numpy())
    return np.stack(out)


def main(data_dir: str, weights: str, out_json: str | None = None) -> dict:
    torch.set_num_threads(1)
    root = Path(data_dir)
    entries = [json.loads(x) for x in (root / "manifest.jsonl").read_text().splitlines() if x]
    test = [e for e in entries if e["corpus"] == "librispeech-test-other"]
    cohort = [e for e in entries if e["corpus"] == "librispeech-cohort"]
    model = voxguard.load_pretrained(weights).eval()
    emb, coh = embed(model, root, test), embed(model, root, cohort)
    i, j, target = all_pairs_trials([e["speaker"] for e in test])
    result = {
        "model": model.model_name,
        "weights": str(weights),
        "n_target": int(target.sum()),
        "n_nontarget": int((~target).sum()),
    }
    for name, matrix in (
        ("cosine", cosine_matrix(emb, emb)),
        ("asnorm", as_norm_matrix(emb, emb, coh, 100)),
    ):
        scores = matrix[i, j]
        m = sv_metrics(scores[target], scores[~target])
        result[name] = {
            "eer_pct": round(100 * m["eer"], 2),
            "min_dcf_p01": round(m["min_dcf_p01"], 4),
            "min_dcf_p05": round(m["min_dcf_p05"], 4),
        }
    if out_json:
        Path(out_json).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(*sys.argv[1:4])
