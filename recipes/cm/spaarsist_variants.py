"""The SpAArSIST protocol on the engine data: one base-trained checkpoint, every variant.

python recipes/cm/spaarsist_variants.py runs/cm/spaarsist_base_l_s0 \
    --feats runs/cm/feats_l1,runs/cm/feats_l2,runs/cm/feats_l3 \
    --out recipes/cm/results/spaarsist_variants_engine_l.json

The run is ``train.py --model spaarsist_rank1_whisper_tiny --merge weighted_sum --backend
spaarsist_base`` (learned node scoring, HS-GAL attention, ``k_train`` 0.3) on the cached Whisper
states; its averaged checkpoint's graph backend is loaded through
:func:`voxguard.models.cm.spaarsist.derive_variant` as base / magnitude / mean / magnitude + mean,
each at ``k_infer`` 0.3 and 0.1, and scored on the cached dev / eval / validation windows with
the learning curves' evaluation (``train.evaluate``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from train import evaluate, load

from voxguard.models import create_model
from voxguard.models.cm.spaarsist import PROTOCOL_VARIANTS, derive_variant

VARIANTS = PROTOCOL_VARIANTS
KEYS = ("dev_eer", "eval_eer", "validation_eer", "vctk_vc_eer", "speecht5_vs_vctk_bona_eer")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("run")
    ap.add_argument("--feats", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="", help="comma-separated variant labels to run (default: all)")
    ap.add_argument("--k-infer", default="0.3,0.1", help="comma-separated k_infer values")
    args = ap.parse_args()
    torch.set_num_threads(1)
    best = torch.load(Path(args.run) / "best.pt", weights_only=True)
    model = create_model(
        best["model_name"],
        upstream_path=None,
        freeze="all",
        include_stem=True,
        merge=best["merge"],
        backend=best["backend"],
    )
    missing, unexpected = model.load_state_dict(best["model"], strict=False)
    assert not unexpected and all(k.startswith("frontend.") for k in missing)
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
    table = []
    for label, switches in VARIANTS.items():
        if args.only and label not in args.only.split(","):
            continue
        for k_infer in (float(k) for k in args.k_infer.split(",")):
            variant, report = derive_variant(base, k_infer=k_infer, **switches)
            model.backend = variant
            res = evaluate(model, states, rows, groups, list(range(len(best["levels"]))))
            row = {
                "variant": label,
                "k_infer": k_infer,
                "built_as": report.name,
                "dropped_keys": len(report.dropped),
                "backend_params": sum(p.numel() for p in variant.parameters()),
            }
            row.update({k: res.get(k) for k in KEYS})
            table.append(row)
            print(json.dumps(row), flush=True)
    model.backend = base
    Path(args.out).write_text(
        json.dumps(
            {"run": args.run, "averaged_steps": best["averaged_steps"], "rows": table}, indent=1
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
