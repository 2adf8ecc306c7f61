"""Choose between CM bundles on the selection criterion, through the real inference path.

python recipes/cm/select_bundle.py BUNDLE [BUNDLE ...] --engine data/voxguard-engine-l \
    --out recipes/cm/results/selection.json

For each bundle: the engine ``dev`` EER (seen attacks, unseen speakers) and the pooled
validation EER (bona fide: ``vctk-vc/bonafide``, ``ami-excerpts``, ``librispeech-test-other``,
the held-out FSDD speakers' clips; spoof: ``speecht5-hifigan``, ``vctk-vc/spoof``), whole
utterances scored as the product scores them (windows, worst window, speech gate). The sum is
the criterion ``train.py`` selects checkpoints with; the engine ``eval`` split (unseen attack
families) is never looked at here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from evaluate import rows_of

from voxguard.api import SpoofDetector
from voxguard.metrics.det import eer


def raw_scores(det: SpoofDetector, files: list[str]) -> np.ndarray:
    return np.array([d.score for d in det.score_files(files)], dtype=float)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundles", nargs="+")
    ap.add_argument("--engine", default="data/voxguard-engine-l")
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    shared, engine = Path(args.shared), Path(args.engine)
    eng = rows_of(engine / "manifest.jsonl", engine)
    dev = [r for r in eng if r["split"] == "dev"]
    held = {r["speaker"] for r in eng if r.get("source_corpus") == "fsdd" and r["split"] != "train"}
    allrows = [json.loads(x) for x in (shared / "manifest.jsonl").open()]
    bona = [str(shared / r["path"]) for r in allrows if r["corpus"] == "librispeech-test-other"]
    bona += [str(shared / r["path"]) for r in allrows if r["corpus"] == "fsdd" and r["speaker"] in held][::10]
    spoof = [r["file"] for r in rows_of(shared / "speecht5-hifigan" / "manifest.jsonl", shared)]
    for name in ("vctk-vc", "ami-excerpts"):
        for r in rows_of(shared / name / "manifest.jsonl", shared):
            (bona if r.get("label", "bonafide") == "bonafide" else spoof).append(r["file"])
    res = {}
    for bundle in args.bundles:
        det = SpoofDetector.from_pretrained(bundle, num_threads=1)
        s = raw_scores(det, [r["file"] for r in dev])
        y = np.array([r["label"] == "bonafide" for r in dev])
        b, sp = raw_scores(det, bona), raw_scores(det, spoof)
        res[bundle] = {"dev_eer": float(eer(s[y], s[~y])[0]), "validation_eer": float(eer(b, sp)[0]),
                       "n_dev": len(dev), "n_validation_bonafide": len(b), "n_validation_spoof": len(sp)}
        res[bundle]["selection"] = res[bundle]["dev_eer"] + res[bundle]["validation_eer"]
        print(bundle, res[bundle], flush=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
