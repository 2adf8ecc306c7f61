"""Calibrate a speaker bundle on held-out dev speakers, set its security operating point, and
measure it on test-other, on TTS voices and on the demo trials (all through ``SpeakerVerifier``).

1. Dev (never trained on, see ``splits.py``): the 6 dev mini speakers' utterances (6 s) and the
   32 dev cohort-only speakers' utterances; all pairs, cosine. An affine cosine -> LLR map is
   fitted (prior 0.5) and a false-accept table (threshold on the LLR for FAR 10 % ... 0.01 %,
   with the dev miss rate there) is computed; both go to ``BUNDLE/calibration.json``
   (``operating_points.default_far`` = 0.01). The FAR of a threshold is measured with every
   dev speaker pair counting once (703 pairs), and the threshold is the 95 % upper confidence
   bound over 1,000 bootstrap resamples of the 38 dev speakers
   (:func:`voxguard.scoring.operating_point.far_table_by_speaker`), so that it is meant to hold
   on speakers not seen, not only on the dev trials.
2. Test-other (10 unseen speakers, all 4,950 pairs): FAR and miss rate at the default operating
   point and at FAR 0.1 %, Cllr / minCllr of the LLRs.
3. TTS voices (espeak-ng, flite, piper; ASV alone): each test-other speaker is enrolled with its
   first 3 utterances; every TTS utterance is scored against every enrolled speaker.
4. The ``voxguard demo`` trials (enroll A, genuine A, impostor B, espeak-ng), ASV alone.

Usage: python operating_point.py DATA_DIR BUNDLE_DIR OUT_JSON [--skip-fit]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bundle import seal  # noqa: E402
from splits import splits  # noqa: E402

from voxguard.api import SpeakerVerifier  # noqa: E402
from voxguard.metrics import sv_metrics  # noqa: E402
from voxguard.metrics.cllr import cllr, min_cllr  # noqa: E402
from voxguard.scoring.calibration import AffineCalibrator  # noqa: E402
from voxguard.scoring.cosine import all_pairs_trials, cosine_matrix  # noqa: E402
from voxguard.scoring.operating_point import (  # noqa: E402
    DEFAULT_FAR,
    far_table,
    far_table_by_speaker,
)

N_BOOT, CONFIDENCE = 1000, 0.95
SENTENCES = (
    "Please verify my voice, I am the account holder.",
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "I would like to check the balance of my savings account today.",
    "She sells sea shells by the sea shore every summer morning.",
    "My voice is my password, please let me in.",
)
TTS_VOICES = (
    ("espeak-ng", "en-us"),
    ("espeak-ng", "en-us+m3"),
    ("espeak-ng", "en-us+f3"),
    ("espeak-ng", "en-gb"),
    ("flite", "kal16"),
    ("flite", "slt"),
    ("flite", "awb"),
    ("flite", "rms"),
    ("piper", "joe"),
)


def embed_all(verifier: SpeakerVerifier, paths: list[Path]) -> np.ndarray:
    out = verifier.embed_files(paths)
    bad = [o.file for o in out if o.error]
    if bad:
        raise SystemExit(f"could not embed {bad[:3]}")
    return np.stack([o.embedding for o in out])


def fit(data: Path, bundle: Path) -> dict:
    sp = splits(data)
    dev = sp["dev_mini"] + sp["dev_cohort"]
    if (bundle / "calibration.json").is_file():  # refitted from raw cosine scores
        (bundle / "calibration.json").unlink()
        seal(bundle)
    verifier = SpeakerVerifier.from_pretrained(bundle)
    emb = embed_all(verifier, [data / e["path"] for e in dev])
    i, j, target = all_pairs_trials([e["speaker"] for e in dev])
    cos = cosine_matrix(emb, emb)[i, j]
    cal = AffineCalibrator().fit(cos, target.astype(int), prior=0.5)
    llr = cal.transform(cos)
    spk = np.array([e["speaker"] for e in dev])
    table = far_table_by_speaker(
        llr[target],
        llr[~target],
        spk[i[~target]],
        spk[j[~target]],
        n_boot=N_BOOT,
        confidence=CONFIDENCE,
        seed=0,
    )
    pooled = far_table(llr[target], llr[~target])
    m = sv_metrics(cos[target], cos[~target])
    section = {
        "default_far": DEFAULT_FAR,
        "score": "calibrated LLR (natural log) of the cosine score",
        "fitted_on": "held-out dev speakers never trained on: 6 librispeech-mini speakers "
        f"(1898 2416 4640 3242 3664 6848, all utterances) + 32 librispeech-cohort-only speakers; "
        f"all pairs of {len(dev)} utterances of up to 6 s",
        "n_target": int(target.sum()),
        "n_nontarget": int((~target).sum()),
        "dev_eer_pct": round(100 * m["eer"], 3),
        "dev_cllr_bits": round(cllr(llr[target], llr[~target]), 4),
        "threshold_rule": f"speaker-pair-balanced FAR; {100 * CONFIDENCE:g} % upper confidence "
        f"bound over {N_BOOT} bootstrap resamples of the "
        f"{len(set(spk.tolist()))} dev speakers",
        "table": table,
        "table_pooled_trials": pooled,
    }
    payload = {**cal.to_dict(), "operating_points": section}
    (bundle / "calibration.json").write_text(json.dumps(payload, indent=2) + "\n")
    seal(bundle)  # the card lists the sha256 of calibration.json too
    return payload


def rates(llr: np.ndarray, target: np.ndarray, thr: float) -> dict:
    acc = llr >= thr
    return {
        "threshold_llr": round(thr, 4),
        "far_pct": round(100 * float(acc[~target].mean()), 3),
        "false_accepts": int(acc[~target].sum()),
        "miss_pct": round(100 * float((~acc[target]).mean()), 3),
        "misses": int((~acc[target]).sum()),
    }


def test_other(data: Path, bundle: Path) -> tuple[dict, dict]:
    sp = splits(data)
    test = sp["test"]
    out = {}
    v = SpeakerVerifier.from_pretrained(bundle)
    emb = embed_all(v, [data / e["path"] for e in test])
    i, j, target = all_pairs_trials([e["speaker"] for e in test])
    llr = v.calibrate(cosine_matrix(emb, emb)[i, j])
    out["default"] = {
        "operating_point": v.operating_point.to_dict(),
        **rates(llr, target, v.threshold),
    }
    for far in (0.001, 0.05):
        vf = SpeakerVerifier.from_pretrained(bundle, far=far)
        out[f"far_{far:g}"] = rates(llr, target, vf.threshold)
    out["equal_priors_llr0"] = rates(llr, target, 0.0)
    out["cllr_bits"] = round(cllr(llr[target], llr[~target]), 4)
    out["min_cllr_bits"] = round(min_cllr(llr[target], llr[~target]), 4)
    m = sv_metrics(llr[target], llr[~target])
    out["eer_pct"] = round(100 * m["eer"], 2)
    enrolled = {}
    for spk in sorted({e["speaker"] for e in test}):
        idx = [k for k, e in enumerate(test) if e["speaker"] == spk][:3]
        enrolled[spk] = emb[idx].mean(axis=0)
    return out, enrolled


def tts_trials(bundle: Path, enrolled: dict) -> dict:
    from voxguard.data.synth import tts

    v = SpeakerVerifier.from_pretrained(bundle)
    names = list(enrolled)
    enr = np.stack([enrolled[s] for s in names])
    out = {}
    for engine, voice in TTS_VOICES:
        try:
            fn = {"espeak-ng": tts.espeak_ng, "flite": tts.flite, "piper": tts.piper}[engine]
            embs = np.stack(
                [v.embed_array(np.asarray(fn(t, voice), np.float32)) for t in SENTENCES]
            )
        except Exception as exc:  # an engine missing here is reported, not fatal
            out[f"{engine}:{voice}"] = {"error": str(exc)[:200]}
            continue
        llr = v.calibrate(cosine_matrix(embs, enr).ravel())
        cos = cosine_matrix(embs, enr).ravel()
        best = int(np.argmax(llr))
        out[f"{engine}:{voice}"] = {
            "trials": int(llr.size),
            "accepted_at_default": int((llr >= v.threshold).sum()),
            "accepted_at_llr0": int((llr >= 0).sum()),
            "max_cosine": round(float(cos.max()), 3),
            "max_llr": round(float(llr.max()), 2),
            "max_llr_speaker": names[best % len(names)],
            "mean_llr": round(float(llr.mean()), 2),
        }
        print(engine, voice, out[f"{engine}:{voice}"], flush=True)
    return out


def demo_trials(bundle: Path) -> dict:
    from voxguard.cli.cmd_demo import demo_audio

    v = SpeakerVerifier.from_pretrained(bundle)
    enroll, trials = demo_audio(seed=0)
    enrollment = v.enroll(enroll)
    out = {"operating_point": v.operating_point.describe()}
    for name, kind, audio in trials:
        r = v.verify(enrollment, audio)
        out[name] = {
            "kind": kind,
            "cosine": round(r.score, 4),
            "llr": round(float(r.calibrated), 3),
            "decision": r.decision,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir")
    ap.add_argument("bundle")
    ap.add_argument("out_json")
    ap.add_argument("--skip-fit", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    data, bundle = Path(a.data_dir), Path(a.bundle)
    result = {"bundle": bundle.name}
    if not a.skip_fit:
        cal = fit(data, bundle)
        result["calibration"] = {k: v for k, v in cal.items() if k != "operating_points"}
        result["operating_points"] = cal["operating_points"]
        print(json.dumps(result["calibration"]), flush=True)
    out = Path(a.out_json)
    result["test_other"], enrolled = test_other(data, bundle)
    print(json.dumps(result["test_other"]), flush=True)
    out.write_text(json.dumps(result, indent=2) + "\n")  # written after every section
    result["demo"] = demo_trials(bundle)
    print(json.dumps(result["demo"]), flush=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    result["tts_vs_test_other_speakers"] = tts_trials(bundle, enrolled)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
