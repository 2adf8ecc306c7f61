"""Choose between CM bundles on the selection criterion, through the real inference path.

python recipes/cm/select_bundle.py BUNDLE [BUNDLE ...] --engine data/voxguard-engine-l \
    --out recipes/cm/results/selection.json

For each bundle: the engine ``dev`` EER (seen attacks, unseen speakers), the pooled validation
EER (bona fide: ``vctk-vc/bonafide``, ``ami-excerpts``, ``librispeech-test-other``, the held-out
FSDD speakers' clips; spoof: ``speecht5-hifigan``, ``vctk-vc/spoof``) and the same-corpus
validation EER (the same without test-other and FSDD: no training corpus on either side), whole
utterances scored as the product scores them (windows, worst window, speech gate). Dev EER +
the same-corpus EER is the criterion ``train.py`` selects checkpoints with (until 2026-12-02
evening the pooled EER was used, which rewards a LibriSpeech-vs-rest corpus detector); the engine ``eval`` split (unseen attack
families) is never looked at here.

Also reported: the share of the dev partial spoofs (a 1-2.5-s spoofed stretch inside genuine
speech) scored above the dev EER threshold (``dev_partial_missed``), and ``selection_partial``
= the criterion + that share, the rule declared on 2026-12-03 before any window-length result
was seen, because the criterion alone had let partial-spoof detection regress unseen.
``--window S --hop S`` score every bundle with other windows than its card's (a copy of the
bundle with those two card fields changed; nothing else); ``--dither DB`` likewise with a noise
floor of ``DB`` dBFS added to every window (the card's ``dither_dbfs``, see
:class:`voxguard.inference.runner.DitheredBackend`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
from evaluate import rows_of

from voxguard.api import SpoofDetector
from voxguard.metrics.det import eer


def raw_scores(det: SpoofDetector, files: list[str]) -> np.ndarray:
    return np.array([d.score for d in det.score_files(files)], dtype=float)


SAME_CORPUS = {"vctk-vc", "ami-excerpts", "speecht5-hifigan"}


def selection_files(engine: Path, shared: Path) -> tuple[list[dict], list[tuple[str, str, bool]]]:
    """The engine ``dev`` rows, and the validation files as ``(file, set, is_bonafide)``."""
    eng = rows_of(engine / "manifest.jsonl", engine)
    dev = [r for r in eng if r["split"] == "dev"]
    held = {r["speaker"] for r in eng if r.get("source_corpus") == "fsdd" and r["split"] != "train"}
    allrows = [json.loads(x) for x in (shared / "manifest.jsonl").open()]
    val = [(str(shared / r["path"]), "librispeech-test-other", True) for r in allrows
           if r["corpus"] == "librispeech-test-other"]
    val += [(str(shared / r["path"]), "fsdd-heldout", True) for r in allrows
            if r["corpus"] == "fsdd" and r["speaker"] in held][::10]
    for name in ("speecht5-hifigan", "vctk-vc", "ami-excerpts"):
        val += [(r["file"], name, r.get("label", "bonafide") == "bonafide")
                for r in rows_of(shared / name / "manifest.jsonl", shared)]
    return dev, val


def validation_eers(scores: np.ndarray, val: list[tuple[str, str, bool]]) -> dict[str, float]:
    """Pooled validation EER (every set) and the same-corpus one (VCTK + AMI bona fide vs SpeechT5 +
    VCTK conversions: no LibriSpeech / FSDD on either side, so the corpus shortcut earns nothing)."""
    bona = np.array([v[2] for v in val])
    same = np.array([v[1] in SAME_CORPUS for v in val])
    return {"validation_eer": float(eer(scores[bona], scores[~bona])[0]),
            "same_corpus_validation_eer": float(eer(scores[bona & same], scores[~bona & same])[0])}


def with_card(bundle: str, window_s: float | None, hop_s: float | None, dither_dbfs: float | None = None) -> str:
    """``bundle`` itself, or a temporary copy whose card scores windows of ``window_s`` every
    ``hop_s`` seconds and / or adds a ``dither_dbfs`` noise floor."""
    if window_s is None and hop_s is None and dither_dbfs is None:
        return bundle
    from voxguard.models._hub import resolve_pretrained_dir

    src = resolve_pretrained_dir(bundle)
    dst = Path(tempfile.mkdtemp()) / src.name
    shutil.copytree(src, dst)
    cfg = json.loads((dst / "config.json").read_text())
    rate = cfg["card"].get("sample_rate", 16000)
    if window_s is not None:
        cfg["card"]["crop_samples"] = int(window_s * rate)
    if window_s is not None or hop_s is not None:
        cfg["card"]["hop_samples"] = int((hop_s if hop_s is not None else window_s / 2) * rate)
    if dither_dbfs is not None:
        cfg["card"]["dither_dbfs"] = dither_dbfs
    (dst / "config.json").write_text(json.dumps(cfg, indent=1))
    return str(dst)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundles", nargs="+")
    ap.add_argument("--engine", default="data/voxguard-engine-l")
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--out", required=True)
    ap.add_argument("--window", type=float, default=None, help="window length in seconds (default: the card's)")
    ap.add_argument("--hop", type=float, default=None, help="window hop in seconds (default: the card's, or window / 2)")
    ap.add_argument("--dither", type=float, default=None, help="noise floor in dBFS added to every window (default: the card's)")
    args = ap.parse_args()
    shared, engine = Path(args.shared), Path(args.engine)
    dev, val = selection_files(engine, shared)
    res = {}
    for bundle in args.bundles:
        det = SpoofDetector.from_pretrained(with_card(bundle, args.window, args.hop, args.dither), num_threads=1)
        s = raw_scores(det, [r["file"] for r in dev])
        y = np.array([r["label"] == "bonafide" for r in dev])
        partial = np.array([r["attack"].startswith("partial") for r in dev])
        v = raw_scores(det, [f for f, _, _ in val])
        dev_eer, thr = eer(s[y], s[~y])
        key = bundle + ("" if args.window is None else f"@{args.window}s") + ("" if args.dither is None else f"@dither{args.dither:g}dBFS")
        res[key] = {"dev_eer": float(dev_eer), **validation_eers(v, val),
                    "dev_partial_missed": float(np.mean(s[partial] >= thr)), "n_dev_partial": int(partial.sum()),
                    "window_s": det.runner.policy.length / det.sample_rate, "hop_s": det.runner.policy.hop / det.sample_rate,
                    "n_dev": len(dev), "n_validation": len(val)}
        res[key]["selection"] = res[key]["dev_eer"] + res[key]["same_corpus_validation_eer"]
        res[key]["selection_partial"] = res[key]["selection"] + res[key]["dev_partial_missed"]
        print(key, res[key], flush=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
