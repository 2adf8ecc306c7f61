"""Fuse a CM bundle with a trained waveform branch (e.g. ``lcnn_spec``) into one ``FusedCM`` bundle.

python recipes/cm/fuse.py --cm lcnn_spec_engine --branch runs/cm/lcnn_wide_s1 \
    --engine data/voxguard-engine-l --cache runs/cm/fusion --out recipes/cm/results/fusion_spec_wide_s1.json \
    [--ship lcnn_dual_engine [--install]]

1. Every file of the selection sets (engine ``dev``; the pooled validation bona fide and spoof
   files of ``select_bundle.py``) is cut into the windows the product scores (4 s every 2 s, a
   short file tiled to one window) and each branch's log-odds per window is cached
   (``CACHE/<branch>.npz``; the CM bundle's once, a new branch's in a minute or so).
2. The fused window score is ``s_cm + w s_branch``; the utterance score its worst window. ``w``
   is chosen on a grid by the selection criterion, dev EER + same-corpus validation EER (VCTK
   + AMI bona fide vs SpeechT5 + VCTK conversions; ``select_bundle.py``; the engine eval split
   is never looked at), or with ``--criterion selection_partial`` that plus the share of the dev
   partial spoofs missed at the dev EER threshold. The JSON and a plot give dev EER, both validation EERs and the
   criterion for every ``w`` (``w = 0`` is the CM alone). The worst-window approximation ignores the speech
   gate; the shipped bundle is then measured through the real inference path
   (``select_bundle.py``, ``evaluate.py``).
3. ``--ship NAME``: a ``fused_attm_lcnn`` bundle with weights ``(1, w)`` (or the branch alone,
   when it beats every fusion weight on the criterion), its dev calibration fitted through the
   inference path (``ship.calibrated_save``), the CM bundle's card extended with the branch's
   training record.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from select_bundle import selection_files, validation_eers
from ship import PRETRAINED, calibrated_save, carried_card
from tqdm import tqdm

from voxguard.audio.crop import sliding_windows
from voxguard.audio.io import load_audio
from voxguard.metrics.det import eer
from voxguard.models import create_model, load_pretrained
from voxguard.models._hub import read_config, resolve_pretrained_dir

WINDOW, HOP = 64000, 32000
CRITERIA = {"selection": "dev EER + same-corpus validation EER",
            "selection_partial": "dev EER + same-corpus validation EER + dev partial spoofs missed at the dev EER threshold"}
#: what each waveform branch's front-end is, for the card
FRONTEND_TEXT = {
    "lcnn_spec": "log power spectrogram, 32-ms frames, 257 linear bins",
    "lcnn_wide": "wide-band log power spectrogram, 4-ms frames every 2 ms, 33 linear bins",
    "lcnn_widephase": "wide-band log power spectrogram and the cosine / sine of its phase step between "
                      "neighbouring bins (group delay), 4-ms frames every 2 ms, 33 linear bins",
    "lcnn_lfcc": "LFCC (60 coefficients with deltas), 20-ms frames",
    "lcnn_mel": "80 log mel bands (Kaldi triangles), 25-ms frames every 10 ms",
}
FRONTEND_TEXT["lcnn_wide_oc"] = FRONTEND_TEXT["lcnn_wide"] + "; one-class softmax head"


@torch.inference_mode()
def window_scores(model: torch.nn.Module, files: list[str], batch: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Log-odds of every window of every file, concatenated, and each file's window count."""
    model.eval()
    scores, counts = [], []
    for f in tqdm(files, desc="window scores", unit="file"):
        wav, _ = load_audio(f, 16000)
        w = sliding_windows(wav.astype(np.float32), WINDOW, HOP)
        for i in range(0, len(w), batch):
            logits = model(torch.from_numpy(np.ascontiguousarray(w[i : i + batch])))
            scores.append((logits[:, 1] - logits[:, 0]).numpy())
        counts.append(len(w))
    return np.concatenate(scores), np.array(counts)


def cached(path: Path, model_fn, files: list[str]) -> tuple[np.ndarray, np.ndarray]:
    if path.is_file():  # reuse a cache holding every file, in any order
        z = np.load(path, allow_pickle=False)
        starts = np.r_[0, np.cumsum(z["counts"])[:-1]]
        where = {f: (a, n) for f, a, n in zip(z["files"].tolist(), starts, z["counts"], strict=True)}
        if all(f in where for f in files):
            parts = [z["scores"][where[f][0] : where[f][0] + where[f][1]] for f in files]
            return np.concatenate(parts), np.array([where[f][1] for f in files])
    t0, c0 = time.time(), time.process_time()
    s, n = window_scores(model_fn(), files)
    np.savez(path, scores=s, counts=n, files=np.array(files))
    print(f"{path.name}: {len(s)} windows of {len(files)} files, {time.process_time() - c0:.0f} s CPU "
          f"({time.time() - t0:.0f} s wall)", flush=True)
    return s, n


def worst(scores: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return np.minimum.reduceat(scores, np.r_[0, np.cumsum(counts)[:-1]])


def selection_figures(s: np.ndarray, dev: list[dict], val: list[tuple[str, str, bool]]) -> dict:
    """The selection figures of utterance scores ``s`` (the ``dev`` rows first, then ``val``):
    dev EER, both validation EERs, the criterion, the dev partial spoofs missed at the dev EER
    threshold, and per real-speech set its EER against the real deepfakes (report only)."""
    nd = len(dev)
    y_dev = np.array([r["label"] == "bonafide" for r in dev])
    partial = np.array([r["attack"].startswith("partial") for r in dev])
    sets = np.array([v[1] for v in val])
    bona = np.array([v[2] for v in val])
    dev_eer, thr = eer(s[:nd][y_dev], s[:nd][~y_dev])
    out = {"dev_eer": float(dev_eer), **validation_eers(s[nd:], val)}
    out["selection"] = out["dev_eer"] + out["same_corpus_validation_eer"]
    # the dev partial spoofs scored above the dev EER threshold: select_bundle.py's
    # ``selection_partial`` term (declared 2026-12-03, reported beside the criterion)
    out["dev_partial_missed"] = float(np.mean(s[:nd][partial] >= thr))
    out["selection_partial"] = out["selection"] + out["dev_partial_missed"]
    # per pair, for the report (not the criterion): each real-speech set against the real deepfakes
    v = s[nd:]
    spoofs = v[~bona]
    vctk_b = v[(sets == "vctk-vc") & bona]
    out["pairs"] = {
        "vctk_vc": float(eer(vctk_b, v[(sets == "vctk-vc") & ~bona])[0]),
        "speecht5_vs_vctk_bonafide": float(eer(vctk_b, v[sets == "speecht5-hifigan"])[0]),
        **{f"{k}_vs_all_spoofs": float(eer(v[(sets == k) & bona], spoofs)[0])
           for k in ("ami-excerpts", "librispeech-test-other", "fsdd-heldout")},
    }
    return out


def load_branch(run: Path) -> torch.nn.Module:
    best = torch.load(run / "best.pt", weights_only=True)
    model = create_model(best["model_name"])
    model.load_state_dict(best["model"])
    return model.eval()


def fused_model(cm_name: str, run: Path, weight: float) -> torch.nn.Module:
    meta = read_config(resolve_pretrained_dir(cm_name))
    cm, branch = load_pretrained(cm_name), load_branch(run)
    cm_cfg = {k: v for k, v in meta["config"].items() if k != "upstream_path"}
    model = create_model("fused_attm_lcnn", branches=(meta["model"], branch.model_name),
                         branch_configs=(cm_cfg, {}), upstream_path=meta["config"].get("upstream_path"),
                         weights=(1.0, float(weight)), bias=0.0)
    external = tuple(model.external_state_prefixes)
    state = {f"branches.0.{k}": v for k, v in cm.state_dict().items()}
    state |= {f"branches.1.{k}": v for k, v in branch.state_dict().items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and not [k for k in missing if not k.startswith(external)], (missing, unexpected)
    return model.eval()


def branch_training(run: Path, summary: dict) -> dict:
    """The card's record of a ``train_waveform.py`` run (what it saw, how long, what shipped)."""
    steps_run = max(json.loads(x).get("step", 0) for x in (run / "log.jsonl").open())
    shipped = summary.get("shipped", {"averaged_steps": summary["averaged_steps"]})
    return {
        "model": summary["args"]["model"], "params": summary["params"], "seed": summary["args"]["seed"],
        "loss": summary.get("loss", "cross_entropy"),  # e.g. cross_entropy+sam(rho=0.05)
        "steps_planned": summary["args"]["steps"], "steps_run": steps_run,
        "stopped": "STOP file" if steps_run < summary["args"]["steps"] else "end of schedule",
        "weights": (f"snapshot of step {shipped['snapshot_step']} (better than the average of "
                    f"{summary['averaged_steps']} on the criterion: pick_snapshot.py)")
        if "snapshot_step" in shipped else f"average of steps {shipped['averaged_steps']}",
        "batch": summary["args"]["batch"], "crop_s": summary["args"]["crop_s"], "lr": summary["args"]["lr"],
        "cpu_s": round(summary["cpu_s"]), "wall_s": round(summary["wall_s"]), "train_files": summary["train_files"],
        "selection": "dev EER + same-corpus validation EER (VCTK + AMI bona fide vs SpeechT5 + VCTK conversions)",
        "data": ("voxguard spoof data engine build data/voxguard-engine-l (recipes/cm), train split only"
                 + "".join(f", plus the train spoofs of {e}" for e in summary["args"].get("extra_train", []))
                 + ": "
                 f"{summary['train_files']['bonafide']} bona fide files (LibriSpeech mini + cohort, FSDD) and "
                 f"{summary['train_files']['spoof']} spoofs of the attacks listed; partial spoofs left out (a 2-s "
                 "training crop could miss the spoofed segment); views made on the fly (train_waveform.py: 4-s crop; "
                 "1-4 s crop tiled + RawBoost; 4-s crop + channel; 0.8-1.6 s crop tiled + channel), then a random "
                 f"{summary['args']['crop_s']:g}-s crop; class-balanced batches"
                 + (f"; {summary['draw']}" if summary["args"].get("speaker_power") else "")),
    }


def record_training(card: dict, run: Path, summary: dict) -> tuple[str, ...]:
    """Write RUN's training record into a bundle's ``card``; returns the keys written.

    A fused bundle (``card["fusion"]``): RUN trained branch 1 (``branch_1_training``), the CM
    bundle's own record becomes ``branch_0_training`` / ``branch_0_training_data`` (a CM that is
    itself a fusion keeps its record under ``branch_0``, see ``main``), and the attacks seen are
    both branches'. A branch shipped alone: ``training`` / ``training_data``.
    """
    card.pop("branch_training", None)
    if "fusion" in card:
        for key in ("training", "training_data"):
            if key in card:
                card[f"branch_0_{key}"] = card.pop(key)
        card["branch_1_training"] = branch_training(run, summary)
        criterion = card["fusion"].get("chosen_by", "dev EER + same-corpus validation EER (fuse.py grid)")
        card["chosen_by"] = f"{criterion}: fusion weight {card['fusion']['weights'][1]:g}"
        card["attacks_seen"] = sorted(set(card.get("attacks_seen", [])) | set(summary["attacks_seen"]))
        return tuple(k for k in ("branch_0", "branch_0_training", "branch_1_training") if k in card)
    card["training"] = branch_training(run, summary)
    card["training_data"] = card["training"].pop("data")
    card["attacks_seen"] = summary["attacks_seen"]
    return ("training", "training_data")


def plot(grid: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = [g["weight"] for g in grid]
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, lab in (("dev_eer", "dev EER"), ("same_corpus_validation_eer", "same-corpus validation EER"),
                     ("validation_eer", "pooled validation EER (report only)"), ("selection", "criterion: dev + same-corpus")):
        ax.plot(w, [g[key] for g in grid], marker="o", ms=3, label=lab)
    ax.set(xlabel="fusion weight of the branch (CM weight 1)", ylabel="EER / criterion",
           title="score fusion: worst window of s_cm + w s_branch")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cm", required=True, help="bundle name or folder to fuse the branch onto")
    ap.add_argument("--branch", required=True, help="train_waveform.py run directory (best.pt)")
    ap.add_argument("--engine", default="data/voxguard-engine-l")
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--cache", default="runs/cm/fusion")
    ap.add_argument("--out", required=True, help="JSON of the weight grid")
    ap.add_argument("--weights", default="0,0.05,0.1,0.15,0.2,0.3,0.4,0.5,0.7,1,1.5,2,3,5")
    ap.add_argument("--weight", type=float, default=None,
                    help="ship this weight instead of the grid's best (negative: the branch alone)")
    ap.add_argument("--criterion", default="selection", choices=("selection", "selection_partial"),
                    help="what the best weight minimises: dev EER + same-corpus validation EER, or that plus "
                         "the share of dev partial spoofs missed at the dev EER threshold")
    ap.add_argument("--ship", default=None, help="bundle name to write")
    ap.add_argument("--install", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    dev, val = selection_files(Path(args.engine), Path(args.shared))
    files = [r["file"] for r in dev] + [f for f, _, _ in val]
    cm_s, counts = cached(cache / f"{Path(args.cm).name}.npz", lambda: load_pretrained(args.cm), files)
    run = Path(args.branch)
    br_s, counts_b = cached(cache / f"{run.name}.npz", lambda: load_branch(run), files)
    assert (counts == counts_b).all()
    nd = len(dev)

    grid = []
    for w in [float(v) for v in args.weights.split(",")]:
        grid.append({"weight": w, **selection_figures(worst(cm_s + w * br_s, counts), dev, val)})
        print(json.dumps({k: round(v, 4) for k, v in grid[-1].items() if k != "pairs"}), flush=True)
    alone = selection_figures(worst(br_s, counts), dev, val)
    best = min(grid + [{"weight": None, **alone}], key=lambda g: g[args.criterion])
    result = {"cm": args.cm, "branch": str(run), "grid": grid, "branch_alone": alone, "best": best,
              "n_dev": nd, "n_validation": len(val),
              "windows": int(counts.sum()), "window_s": WINDOW / 16000, "hop_s": HOP / 16000}
    out = Path(args.out)
    out.write_text(json.dumps(result, indent=1) + "\n")
    plot(grid, out.with_suffix(".png"))
    print("branch alone", alone, "\nbest", best, flush=True)
    if args.ship:
        weight = best["weight"] if args.weight is None else args.weight
        card = carried_card(read_config(resolve_pretrained_dir(args.cm))["card"])
        summary = json.loads((run / "summary.json").read_text())
        if weight is None or weight < 0:  # the branch alone beats every fusion: ship it alone
            model = load_branch(run)
            card = {k: v for k, v in card.items() if k in ("sample_rate", "crop_samples", "hop_samples", "polarity",
                                                             "operating_point", "attacks_seen", "attacks_held_out",
                                                             "validation_sets_never_trained_on", "engine_build",
                                                             "data_licence", "licence")}
            card["frontend"] = f"{FRONTEND_TEXT[summary['args']['model']]} (no pretrained weights)"
            card["score"] = ("logit[1] - logit[0] per 4-s window, windows every 2 s; the utterance score is the worst "
                             "window with enough speech; calibration.json maps it to a bona fide LLR")
            card["chosen_by"] = CRITERIA[args.criterion] + " (fuse.py: better alone than any fusion weight)"
        else:
            model = fused_model(args.cm, run, weight)
            if "fusion" in card:  # the CM is itself a fusion: keep its whole record as branch 0's
                nested = {k: card.pop(k) for k in list(card) if k == "fusion" or k.startswith("branch_")}
                card["branch_0"] = {"bundle": Path(args.cm).name, **nested}
        if weight is not None and weight >= 0:
            card["frontend"] = (f"branch 0: {card.get('frontend', '')}; branch 1: {summary['args']['model']} on the "
                                f"waveform ({FRONTEND_TEXT[summary['args']['model']]}; no pretrained weights)")
            card["score"] = (f"per 4-s window: s = s_cm + {weight:g} s_{summary['args']['model']} (branch log-odds, "
                             f"weight chosen by fuse.py on {CRITERIA[args.criterion]}); " + card.get("score", ""))
            card["fusion"] = {"weights": [1.0, weight], "chosen_by": CRITERIA[args.criterion] + " (fuse.py grid)",
                              "grid_file": str(out.name)}
        record_training(card, run, summary)
        target = PRETRAINED / args.ship if args.install else run / "bundle" / args.ship
        calibrated_save(model, card, Path(args.engine), target, args.ship)
        print(f"bundle written to {target}")


if __name__ == "__main__":
    main()
