"""Write the shipped speaker bundle from a distillation run, then (``--finalize``) add the
measured results to its card and record the sha256 of every file (weights, calibration.json).

Usage:
    python bundle.py EXP_DIR BUNDLE_DIR    # EXP_DIR/folded (fold.py) or EXP_DIR/best + card
    python bundle.py EXP_DIR BUNDLE_DIR --finalize EVAL_JSON OP_JSON [CONDITIONS_JSON]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import voxguard
from voxguard.models import save_pretrained
from voxguard.models._hub import CONFIG_FILE
from voxguard.training.teacher import GE2E_SOURCE


def _run_record(exp: Path, cfg: dict) -> dict:
    """Schedule, selected step and the data / time the run of ``exp`` consumed (its log)."""
    log = [json.loads(x) for x in (exp / "log.jsonl").read_text().splitlines() if x]
    evals = [r for r in log if "dev_eer_pct" in r and "crops_seen" in r]
    # the checkpoint train.py kept: the lowest dev_full EER when the run logged it (a second
    # stage chooses on the 38-speaker dev_full set), else the lowest dev-curve EER
    key = "dev_full_eer_pct" if all("dev_full_eer_pct" in r for r in evals) else "dev_eer_pct"
    best = min(evals, key=lambda r: r[key])
    last = evals[-1]
    stop = next((r["stopped"] for r in log if "stopped" in r), None)
    keys = ("steps", "batch_size", "min_frames", "max_frames", "lr", "final_lr", "seed")
    return {
        **{k: cfg[k] for k in keys},
        "selected_step": best["step"],
        "selected_on": key,
        "dev_eer_pct_selected": best["dev_eer_pct"],
        **({"dev_full_eer_pct_selected": best[key]} if key == "dev_full_eer_pct" else {}),
        **({"stopped": stop} if stop else {}),
        "steps_run": last["step"],
        "crops_seen": last["crops_seen"],
        "audio_seen_h": last["audio_seen_h"],
        "wall_min": round(last["wall_s"] / 60, 1),
        "cpu_min": round(last["cpu_s"] / 60, 1),
    }


def base_card(exp: Path) -> dict:
    cfg = json.loads((exp / "distill_config.json").read_text())
    best_card = json.loads((exp / "best" / CONFIG_FILE).read_text())["card"]
    crops = best_card.get("train_crops")
    training = {
        "method": "embedding distillation 1 - cos(P s, t) to the teacher's embedding of the "
        "clean crop (w 1) and of the clean whole utterance (w 0.5), P a learned 192->256 "
        "projection (training only), + 0.2 x AAM-softmax (m 0.2, s 30) on 219 speakers",
        **_run_record(exp, cfg),
        "train_crops": crops,
    }
    if cfg.get("init_from"):  # a later stage: record the stage it started from
        # (read before the bundle is rewritten: a stage may start from the shipped bundle itself)
        init = Path(cfg["init_from"])
        first = json.loads((init / CONFIG_FILE).read_text())["card"]
        what = (
            "the shipped bundle before this stage"
            if "training" in first
            else "the previous stage's selected checkpoint"
        )
        training["initialised_from"] = {
            "what": f"{init.parent.name}/{init.name}: {what} "
            "(P and the AAM centres refitted on its embeddings at step 0)",
            **({"sha256": first["sha256"]} if "sha256" in first else {}),
            **first.get("training", {}),
        }
    return {
        "sample_rate": 16000,
        "frontend": "Kaldi fbank, 80 mel bins, 25 ms / 10 ms, povey, pre-emphasis 0.97, CMN "
        "(voxguard Fbank)",
        "input": "waveform (B, T) float32 in [-1, 1], any length",
        "score": "cosine similarity of speaker embeddings",
        "polarity": "higher = same speaker (target)",
        "teacher": f"{GE2E_SOURCE}; used at training time only (its embeddings of the training "
        "crops were the distillation targets), not shipped and not needed at run time",
        "training_data": "LibriSpeech (CC BY 4.0, Panayotov et al.): librispeech-mini (22 of its "
        "28 speakers) + librispeech-cohort (one 6-s utterance of each speaker not held out); "
        "FSDD (CC BY-SA 4.0, Z. Jackson et al.): 1,000 utterances of 6 speakers, 8 kHz; "
        f"augmented 1-4 s crops ({crops} in the last stage; noise, babble, synthetic "
        "reverberation, mp3/opus/mu-law, 8-kHz telephone band, speed 0.95-1.05). Held out: "
        "6 mini + 32 cohort speakers (dev), librispeech-test-other (test). No spoofed or "
        "validation-only data.",
        "training": training,
        "licence": "weights MIT (voxguard); trained on LibriSpeech (CC BY 4.0) and FSDD (CC BY-SA "
        "4.0) with targets from Resemblyzer's GE2E encoder (Apache-2.0)",
        "recipe": "recipes/speaker",
    }


def seal(bundle: Path) -> None:
    """sha256 of every file in the card (``models._hub.seal_bundle`` when available)."""
    try:
        from voxguard.models._hub import seal_bundle
    except ImportError:
        from voxguard.models._hub import sha256_of

        meta = json.loads((bundle / CONFIG_FILE).read_text())
        meta["card"]["files"] = {
            p.name: sha256_of(p)
            for p in sorted(bundle.iterdir())
            if p.is_file() and p.name != CONFIG_FILE
        }
        (bundle / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        return
    seal_bundle(bundle)


def finalize(bundle: Path, eval_json: Path, op_json: Path, cond_json: Path | None = None) -> None:
    meta = json.loads((bundle / CONFIG_FILE).read_text())
    ev, op = json.loads(eval_json.read_text()), json.loads(op_json.read_text())
    systems = dict(ev["systems"])
    if cond_json is not None:  # another evaluate.py run (conditions, or the teacher)
        for k, v in json.loads(cond_json.read_text())["systems"].items():
            systems[k] = {**v, **systems.get(k, {})}
    student = next(v for k, v in systems.items() if "bccmt" in k)
    teacher = next((v for k, v in systems.items() if k.startswith("resemblyzer")), None)
    card = meta["card"]
    card["evaluation"] = {
        "data": "LibriSpeech test-other, 10 unseen speakers x 10 utterances, all 4,950 pairs "
        "(450 target); AS-norm top 100 with librispeech-cohort",
        "eer_pct_cosine": student["full"]["eer_pct_cos"],
        "min_dcf_p01_cosine": student["full"]["min_dcf_p01_cos"],
        "eer_pct_asnorm": student["full"]["eer_pct_asn"],
        "min_dcf_p01_asnorm": student["full"]["min_dcf_p01_asn"],
        "conditions": {
            k: v for k, v in student.items() if isinstance(v, dict) and "eer_pct_cos" in v
        },
        "teacher_eer_pct_cosine": teacher["full"]["eer_pct_cos"] if teacher else None,
        "teacher_conditions": {
            k: v for k, v in (teacher or {}).items() if isinstance(v, dict) and "eer_pct_cos" in v
        },
        "recipe": "recipes/speaker/evaluate.py",
    }
    ops = op["operating_points"]
    card["calibration"] = {
        "file": "calibration.json: affine cosine -> LLR (prior 0.5) and a false-accept table "
        "(operating_points); the default decision threshold is the one for a 1 % FAR on held-out "
        "speakers (threshold_rule)",
        "scale": op["calibration"]["scale"],
        "offset": op["calibration"]["offset"],
        "fitted_on": ops["fitted_on"],
        **({"threshold_rule": ops["threshold_rule"]} if "threshold_rule" in ops else {}),
        "dev_trials": {"n_target": ops["n_target"], "n_nontarget": ops["n_nontarget"]},
        "test_other": op["test_other"],
        "recipe": "recipes/speaker/operating_point.py",
    }
    meta["card"] = card
    (bundle / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    seal(bundle)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("exp_dir")
    ap.add_argument("bundle_dir")
    ap.add_argument(
        "--finalize", nargs="+", metavar="JSON", help="EVAL_JSON OP_JSON [CONDITIONS_JSON]"
    )
    a = ap.parse_args()
    exp, bundle = Path(a.exp_dir), Path(a.bundle_dir)
    if a.finalize:
        paths = [Path(p) for p in a.finalize]
        finalize(bundle, paths[0], paths[1], paths[2] if len(paths) > 2 else None)
        return
    weights = exp / "folded" if (exp / "folded").is_dir() else exp / "best"  # see fold.py
    model = voxguard.load_pretrained(weights)
    card = base_card(exp)
    space = json.loads((weights / CONFIG_FILE).read_text())["card"].get("scoring_space")
    if space:
        card["scoring_space"] = space
    save_pretrained(model, bundle, card)
    seal(bundle)
    print(f"wrote {bundle}")


if __name__ == "__main__":
    main()
