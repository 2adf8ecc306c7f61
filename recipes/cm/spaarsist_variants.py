"""The SpAArSIST protocol on the engine data: one base-trained checkpoint, every variant.

python recipes/cm/spaarsist_variants.py runs/cm/spaarsist_base_l_s0 \
    --feats runs/cm/feats_l1,runs/cm/feats_l2,runs/cm/feats_l3 \
    --out recipes/cm/results/spaarsist_variants_engine_l.json

The run is ``train.py --model spaarsist_rank1_whisper_tiny --merge weighted_sum --backend
spaarsist_base`` (learned node scoring, HS-GAL attention; ``--k-train 0.3`` as the paper's
protocol trains it, else the registered config's pool ratios of 0.5) on the cached Whisper
states; its averaged checkpoint's graph backend is loaded through
:func:`voxguard.models.cm.spaarsist.derive_variant` as base / magnitude / mean / magnitude + mean,
each at ``k_infer`` 0.5, 0.3 and 0.1, and scored on the cached dev / eval / validation windows with
the learning curves' evaluation (``train.evaluate``).

For the composite selection score (:mod:`voxguard.evaluation.selection`, SpAArSIST's
deployment-oriented ranking) every row also gets minDCF (ASVspoof 5 costs: P_spoof 0.05, C_miss
1, C_fa 10), and actDCF and Cllr of its scores after an affine calibration fitted on that row's
own dev scores (calibration judged as a user would get it, on files the fit did not see), and
the merge + back-end's MACs, parameters and CPU latency on one 4-s window (one thread, measured
round-robin over the rows; the frozen Whisper encoder is the same for every row and left out).
The ranking uses selection data only: dev EER and minDCF, actDCF and Cllr on the same-corpus
validation pairs; the engine eval split's minDCF / actDCF / Cllr are reported beside it, never
ranked on. ``--csv`` writes that table for ``voxguard select``, and the ranking is stored.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
from pathlib import Path

import numpy as np
import torch
from train import backend_forward, load, load_run, metrics, score

from voxguard.evaluation.selection import select
from voxguard.metrics.cllr import cllr
from voxguard.metrics.dcf import act_dcf, min_dcf
from voxguard.models.cm.spaarsist import PROTOCOL_VARIANTS, derive_variant
from voxguard.profiling.latency import measure_latency
from voxguard.profiling.macs import count_macs
from voxguard.scoring.calibration import AffineCalibrator

VARIANTS = PROTOCOL_VARIANTS
KEYS = ("dev_eer", "eval_eer", "validation_eer", "vctk_vc_eer", "speecht5_vs_vctk_bona_eer")
FRAMES, DIM = 200, 384
SCORED = (
    "dev",
    "eval",
    "vctk-vc",
    "ami-excerpts",
    "speecht5-hifigan",
)  # one 4-s window of Whisper tiny.en states


class _MergeBackend(torch.nn.Module):
    """What differs between the rows: the layer merge and the graph back-end on cached states
    (``train.backend_forward`` reads ``.merge`` and ``.backend``)."""

    def __init__(self, merge: torch.nn.Module, backend: torch.nn.Module, levels: list[int]) -> None:
        super().__init__()
        self.merge, self.backend, self.levels = merge, backend, levels

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return backend_forward(self, states, self.levels)


def calibrated_costs(scores: dict[str, np.ndarray], rows, groups) -> dict[str, float]:
    """minDCF, and actDCF / Cllr after an affine calibration fitted on the dev scores, on dev
    (minDCF), the same-corpus validation pairs (actDCF, Cllr: VCTK + AMI bona fide against
    SpeechT5 + VCTK conversions, what the training criterion selects on) and the engine eval
    split (all three, reported, never used to rank)."""
    raw = {k: scores[k] for k in SCORED if k in scores}
    bona = {k: np.array([rows[i]["label"] == "bonafide" for i in groups[k]]) for k in raw}
    cal = AffineCalibrator().fit(raw["dev"], bona["dev"].astype(int))
    llr = {k: cal.transform(v) for k, v in raw.items()}
    sb = np.concatenate([llr[k][bona[k]] for k in ("vctk-vc", "ami-excerpts")])
    ss = np.concatenate([llr[k][~bona[k]] for k in ("vctk-vc", "speecht5-hifigan")])
    y = bona["eval"]
    return {
        "dev_min_dcf": float(min_dcf(raw["dev"][bona["dev"]], raw["dev"][~bona["dev"]])[0]),
        "same_corpus_act_dcf": float(act_dcf(sb, ss)[0]),
        "same_corpus_cllr": float(cllr(sb, ss)),
        "eval_min_dcf": float(min_dcf(raw["eval"][y], raw["eval"][~y])[0]),
        "eval_act_dcf": float(act_dcf(llr["eval"][y], llr["eval"][~y])[0]),
        "eval_cllr": float(cllr(llr["eval"][y], llr["eval"][~y])),
    }


def static_cost(model, levels: list[int]) -> dict[str, float]:
    """MACs and parameters of merge + back-end on one cached 4-s window."""
    net = _MergeBackend(model.merge, model.backend, levels).eval()
    params = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("frontend."))
    return {
        "macs": count_macs(net, torch.randn(1, len(levels), FRAMES, DIM)).total,
        "params": params,
    }


def interleaved_latency(nets: list[torch.nn.Module], levels: int, rounds: int = 8) -> list[float]:
    """Median CPU ms of each net on one window, measured round-robin (5 runs per net per round)
    so that load changes on a shared machine fall on every row alike."""
    x = torch.randn(1, levels, FRAMES, DIM)
    times: list[list[float]] = [[] for _ in nets]
    for _ in range(rounds):
        for i, net in enumerate(nets):
            times[i].append(measure_latency(net, x, threads=1, repeats=5, warmup=1)["median_ms"])
    return [float(np.median(t)) for t in times]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("run")
    ap.add_argument("--feats", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument(
        "--only", default="", help="comma-separated variant labels to run (default: all)"
    )
    ap.add_argument(
        "--k-infer",
        default="0.5,0.3,0.1",
        help="comma-separated k_infer values (0.5: the pool ratio spaarsist_base trains with)",
    )
    ap.add_argument(
        "--csv", default="", help="also write the selection table here (for `voxguard select`)"
    )
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, best = load_run(Path(args.run))
    states, rows = load(args.feats)
    groups = {s: [i for i, r in enumerate(rows) if r["split"] == s] for s in ("dev", "eval")}
    for k in (
        "speecht5-hifigan",
        "vctk-vc",
        "ami-excerpts",
        "librispeech-test-other",
        "fsdd-heldout",
    ):
        groups[k] = [i for i, r in enumerate(rows) if r.get("set") == k]
    groups = {k: np.array(v) for k, v in groups.items()}
    base = model.backend
    levels = list(range(len(best["levels"])))
    table, nets = [], []
    for label, switches in VARIANTS.items():
        if args.only and label not in args.only.split(","):
            continue
        for k_infer in (float(k) for k in args.k_infer.split(",")):
            variant, report = derive_variant(base, k_infer=k_infer, **switches)
            model.backend = variant
            scores = {k: score(model, states, v, levels) for k, v in groups.items() if len(v)}
            res = metrics(scores, rows, groups)
            row = {
                "variant": label,
                "k_infer": k_infer,
                "built_as": report.name,
                "dropped_keys": len(report.dropped),
                "backend_params": sum(p.numel() for p in variant.parameters()),
            }
            row.update({k: res.get(k) for k in KEYS})
            row.update(calibrated_costs(scores, rows, groups))
            row.update(static_cost(model, levels))
            nets.append(_MergeBackend(copy.deepcopy(model.merge), variant, levels).eval())
            table.append(row)
            print(json.dumps(row), flush=True)
    model.backend = base
    load_before = os.getloadavg()[0]
    for row, ms in zip(table, interleaved_latency(nets, len(levels)), strict=True):
        row["latency_ms"] = ms
    latency_note = {
        "threads": 1,
        "rounds": 8,
        "load_avg_before": round(load_before, 2),
        "load_avg_after": round(os.getloadavg()[0], 2),
    }
    criteria = [
        {
            "name": f"{r['variant']} k_infer {r['k_infer']}",
            "eer": r["dev_eer"],
            "min_dcf": r["dev_min_dcf"],
            "act_dcf": r["same_corpus_act_dcf"],
            "cllr": r["same_corpus_cllr"],
            "macs": r["macs"],
            "params": r["params"],
            "latency": r["latency_ms"],
        }
        for r in table
    ]
    ranking = select(criteria)
    if args.csv:
        with open(args.csv, "w", encoding="utf-8") as f:
            f.write(",".join(criteria[0]) + "\n")
            for c in criteria:
                f.write(",".join(str(v) for v in c.values()) + "\n")
    Path(args.out).write_text(
        json.dumps(
            {
                "run": args.run,
                "averaged_steps": best["averaged_steps"],
                "latency": latency_note,
                "rows": table,
                "selection": ranking.to_dict(),
            },
            indent=1,
        )
        + "\n"
    )
    print(
        "| variant | k_infer | built as | dropped keys | backend params | dev EER | eval EER (unseen) | "
        "validation EER | vctk-vc EER |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in table:
        print(
            f"| {r['variant']} | {r['k_infer']} | `{r['built_as']}` | {r['dropped_keys']} | {r['backend_params']:,} | "
            f"{100 * r['dev_eer']:.1f} % | {100 * r['eval_eer']:.1f} % | {100 * r['validation_eer']:.1f} % | "
            f"{100 * r['vctk_vc_eer']:.1f} % |"
        )


if __name__ == "__main__":
    main()
