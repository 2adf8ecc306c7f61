"""Fit the bundled speaker model's score calibration on speakers it has never seen.

The speaker model was trained on librispeech-mini + librispeech-cohort, so the only unseen
speakers with several utterances are the 10 of LibriSpeech test-other (10 utterances each, all
4,950 pairs: 450 target, 4,500 non-target).

- **Shipped calibration**: fitted on all pairs of the 8 speakers that are not in
  ``voxguard demo`` (its clips are from 1688 and 2033; 360 target, 2,800 non-target pairs) and
  evaluated on every pair that involves a demo speaker (90 target, 1,700 non-target), so the
  demo trials and these figures are out of sample.
- **Estimate of the procedure**: leave-one-speaker-out — for each speaker S, fit on the pairs
  of the other 9 and score every pair involving S (45 target, 900 non-target); pooled over the
  10 folds (450 target, 9,000 non-target: each non-target pair is scored twice, once with each
  of its speakers held out).

Embeddings are computed through :class:`voxguard.api.SpeakerVerifier` (the product's own path,
full-length files); everything is repeated on the first 4 s of every utterance (the demo's clip
length) to show how the calibration moves with duration. The calibration is fitted at prior
0.5 (it minimises Cllr, the prior-free cost) with voxguard's
:class:`~voxguard.scoring.calibration.AffineCalibrator`; the decision threshold on the LLR is
then 0 for equal priors and costs, and ``ln((1 - p) / p)`` for a target prior ``p``.

Usage: python calibrate.py DATA_DIR [BUNDLE_DIR] [OUT_JSON]
(BUNDLE_DIR defaults to ``src/voxguard/pretrained/bccmt_tiny_librispeech``; the calibration is
written there as ``calibration.json``.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from voxguard.api import SpeakerVerifier
from voxguard.audio.io import load_audio
from voxguard.metrics import act_dcf, cllr, min_cllr, sv_metrics
from voxguard.scoring.calibration import AffineCalibrator
from voxguard.scoring.cosine import all_pairs_trials, cosine_matrix

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BUNDLE = REPO / "src" / "voxguard" / "pretrained" / "bccmt_tiny_librispeech"
DEMO_SPEAKERS = ("1688", "2033")  # src/voxguard/assets/demo/README.md
PRIOR = 0.5
COSINE_THRESHOLD = SpeakerVerifier.uncalibrated_threshold  # the rule without a calibration
DEMO_SECONDS = 4.0


def pairs(emb: np.ndarray, speakers: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Cosine scores of all pairs and whether each is a target pair."""
    i, j, target = all_pairs_trials(speakers)
    return cosine_matrix(emb, emb)[i, j], target


def report(scores: np.ndarray, llr: np.ndarray, target: np.ndarray) -> dict:
    """Discrimination (raw cosine) and calibration (LLR) figures of one trial set."""
    tar, non = llr[target], llr[~target]
    m = sv_metrics(scores[target], scores[~target])

    def rates(values: np.ndarray, threshold: float) -> dict:
        return {
            "miss_pct": round(100 * float(np.mean(values[target] < threshold)), 2),
            "false_accept_pct": round(100 * float(np.mean(values[~target] >= threshold)), 2),
        }

    return {
        "n_target": int(target.sum()),
        "n_nontarget": int((~target).sum()),
        "eer_pct": round(100 * m["eer"], 2),
        "min_dcf_p01": round(m["min_dcf_p01"], 4),
        "cllr_bits": round(cllr(tar, non), 4),
        "min_cllr_bits": round(min_cllr(tar, non), 4),
        # act_dcf's "spoof" is the negative class: its prior is 1 - p_target; Cmiss = Cfa = 1.
        "act_dcf_p50": round(act_dcf(tar, non, p_spoof=0.5, c_miss=1.0, c_fa=1.0)[0], 4),
        "act_dcf_p01": round(act_dcf(tar, non, p_spoof=0.99, c_miss=1.0, c_fa=1.0)[0], 4),
        "decisions_llr_ge_0": rates(llr, 0.0),
        f"decisions_cosine_ge_{COSINE_THRESHOLD}": rates(scores, COSINE_THRESHOLD),
    }


def involving(
    emb: np.ndarray, speakers: np.ndarray, held: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine scores and target flags of every pair with at least one utterance of ``held``."""
    i, j, target = all_pairs_trials(list(speakers))
    keep = np.isin(speakers[i], held) | np.isin(speakers[j], held)
    return cosine_matrix(emb, emb)[i[keep], j[keep]], target[keep]


def fit_without(emb: np.ndarray, speakers: np.ndarray, held: tuple[str, ...]) -> AffineCalibrator:
    """A calibration fitted on all pairs of the speakers not in ``held``."""
    rest = ~np.isin(speakers, held)
    return AffineCalibrator().fit(*pairs(emb[rest], list(speakers[rest])), prior=PRIOR)


def evaluate(emb: np.ndarray, speakers: np.ndarray) -> tuple[AffineCalibrator, dict, dict]:
    """The shipped calibration (demo speakers held out), its report, the LOSO pooled report."""
    shipped = fit_without(emb, speakers, DEMO_SPEAKERS)
    scores, target = involving(emb, speakers, DEMO_SPEAKERS)
    demo_report = report(scores, shipped.transform(scores), target)
    raw, llr, tgt = [], [], []
    for s in sorted(set(speakers)):
        cal = fit_without(emb, speakers, (s,))
        scores, target = involving(emb, speakers, (s,))
        raw.append(scores)
        llr.append(cal.transform(scores))
        tgt.append(target)
    loso = report(np.concatenate(raw), np.concatenate(llr), np.concatenate(tgt))
    return shipped, demo_report, loso


def record_in_card(bundle_dir: Path, result: dict) -> None:
    """Describe the calibration and its held-out figures in the bundle's model card."""
    path = bundle_dir / "config.json"
    meta = json.loads(path.read_text())
    demo = result["shipped_on_pairs_with_a_demo_speaker"]
    loso = result["leave_one_speaker_out"]
    meta["card"]["calibration"] = {
        "file": "calibration.json (affine cosine -> LLR, prior 0.5; threshold 0 = equal priors)",
        "fitted_on": "LibriSpeech test-other pairs of the 8 speakers not used by voxguard demo",
        "held_out_pairs_with_a_demo_speaker": {
            k: demo[k]
            for k in (
                "n_target",
                "n_nontarget",
                "cllr_bits",
                "min_cllr_bits",
                "act_dcf_p50",
                "decisions_llr_ge_0",
            )
        },
        "leave_one_speaker_out": {
            k: loso[k]
            for k in (
                "n_target",
                "n_nontarget",
                "cllr_bits",
                "min_cllr_bits",
                "act_dcf_p50",
                "decisions_llr_ge_0",
            )
        },
        "recipe": "recipes/librispeech_spk/calibrate.py",
    }
    path.write_text(json.dumps(meta, indent=2) + "\n")


def main(data_dir: str, bundle: str | None = None, out_json: str | None = None) -> dict:
    root = Path(data_dir)
    bundle_dir = Path(bundle) if bundle else DEFAULT_BUNDLE
    entries = [json.loads(x) for x in (root / "manifest.jsonl").read_text().splitlines() if x]
    test = sorted(
        (e for e in entries if e["corpus"] == "librispeech-test-other"), key=lambda e: e["utt"]
    )
    speakers = [e["speaker"] for e in test]
    if len(set(speakers)) != 10 or not set(DEMO_SPEAKERS) <= set(speakers):
        raise SystemExit("expected the 10 test-other speakers, including the demo's 1688 and 2033")
    verifier = SpeakerVerifier.from_pretrained(bundle_dir)  # raw cosine scores are used
    got = verifier.embed_files([root / e["path"] for e in test])
    bad = [g.file for g in got if g.error]
    if bad:
        raise SystemExit(f"could not embed {bad}")
    full = np.stack([g.embedding for g in got])
    first = int(DEMO_SECONDS * 16000)
    short = np.stack(
        [verifier.embed_array(load_audio(root / e["path"], 16000)[0][:first]) for e in test]
    )
    spk = np.asarray(speakers)
    shipped, demo_full, loso_full = evaluate(full, spk)
    shipped_4s, demo_4s, loso_4s = evaluate(short, spk)
    short_scores, short_target = involving(short, spk, DEMO_SPEAKERS)
    all_scores, target = pairs(full, speakers)
    result = {
        "model_dir": bundle_dir.name,
        "data": "LibriSpeech test-other, 10 speakers unseen in training, 10 utterances each",
        "prior": PRIOR,
        "shipped_calibration": {
            "fit_on": "all pairs of the 8 test-other speakers not in the demo",
            "scale": shipped.scale,
            "offset": shipped.offset,
        },
        "shipped_on_pairs_with_a_demo_speaker": demo_full,
        "shipped_on_pairs_with_a_demo_speaker_first_4s": report(
            short_scores, shipped.transform(short_scores), short_target
        ),
        "leave_one_speaker_out": loso_full,
        "refit_on_first_4s": {
            "scale": shipped_4s.scale,
            "offset": shipped_4s.offset,
            "on_pairs_with_a_demo_speaker": demo_4s,
            "leave_one_speaker_out": loso_4s,
        },
        "all_4950_pairs_raw_cosine": {
            "eer_pct": round(100 * sv_metrics(all_scores[target], all_scores[~target])["eer"], 2)
        },
    }
    shipped.save(bundle_dir / "calibration.json")
    from voxguard.models._hub import seal_bundle

    seal_bundle(bundle_dir)  # the card hashes every file a model reads, calibration included
    record_in_card(bundle_dir, result)
    text = json.dumps(result, indent=2) + "\n"
    if out_json:
        Path(out_json).parent.mkdir(parents=True, exist_ok=True)
        Path(out_json).write_text(text)
    print(text)
    return result


if __name__ == "__main__":
    main(*sys.argv[1:4])
