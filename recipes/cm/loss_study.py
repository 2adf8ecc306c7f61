"""Compare training arms of one CM branch over seeds: the final averaged figures and mean curves.

python recipes/cm/loss_study.py --out recipes/cm/results/loss_study_lcnn_wide.json \
    --arm "cross-entropy=recipes/cm/results/lcnn_wide_s{1,2,3}" \
    --arm "one-class softmax=recipes/cm/results/lcnn_wide_oc_s{1,2,3}" \
    --arm "mixup 0.5=recipes/cm/results/lcnn_wide_mix_s{1,2,3}"

Each arm is a label and a result prefix with ``{a,b,c}`` seeds; ``PREFIX_summary.json`` and
``PREFIX_log.jsonl`` (what ``train_waveform.py`` writes, copied into ``results/``) are read for
every seed. The JSON holds each seed's ``final_averaged`` figures (first 4-s window, the
learning-curve evaluation; selection = dev EER + same-corpus validation EER, the criterion the
runs were selected on) and each arm's mean and standard deviation; the PNG (same name) the mean
over seeds of dev EER, same-corpus validation EER and eval EER against the step, with the seed
range shaded. Eval (unseen families) is reported, never used to choose.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

FIGURES = ("dev_eer", "eval_eer", "same_corpus_validation_eer", "vctk_vc_eer", "speecht5_vs_vctk_bona_eer",
           "speecht5-hifigan_spoof_detected_at_dev_thr", "librispeech-test-other_bona_rejected_at_dev_thr",
           "fsdd-heldout_bona_rejected_at_dev_thr", "ami-excerpts_bona_rejected_at_dev_thr", "selection")
CURVES = (("dev_eer", "dev EER"), ("same_corpus_validation_eer", "same-corpus validation EER"),
          ("eval_eer", "eval EER (unseen, report only)"))


def expand(prefix: str) -> list[str]:
    """``a_s{1,2,3}`` -> ``a_s1``, ``a_s2``, ``a_s3`` (a prefix without braces is one seed)."""
    m = re.search(r"\{([^}]*)\}", prefix)
    if not m:
        return [prefix]
    return [prefix[: m.start()] + s + prefix[m.end() :] for s in m.group(1).split(",")]


def read_arm(prefix: str) -> tuple[list[dict], list[dict]]:
    finals, curves = [], []
    for p in expand(prefix):
        summary = Path(p + "_summary.json")
        log = Path(p + "_log.jsonl")
        for f in (summary, log):
            if not f.is_file():
                raise SystemExit(f"loss_study: {f} is missing; copy the run's summary.json and log.jsonl there")
        s = json.loads(summary.read_text())
        finals.append({"run": p, "seed": s["args"]["seed"], "cpu_s": round(s["cpu_s"]),
                       "averaged_steps": s["averaged_steps"], **{k: s["final_averaged"][k] for k in FIGURES}})
        curves.append({r["step"]: r for r in map(json.loads, log.open()) if "dev_eer" in r})
    return finals, curves


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arm", action="append", required=True, help="LABEL=RESULT_PREFIX with {seeds}")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    arms = {}
    for spec in args.arm:
        label, _, prefix = spec.partition("=")
        if not prefix:
            raise SystemExit(f"loss_study: --arm {spec!r} is not LABEL=PREFIX")
        finals, curves = read_arm(prefix)
        table = {k: [f[k] for f in finals] for k in FIGURES}
        arms[label] = {"seeds": finals,
                       "mean": {k: float(np.mean(v)) for k, v in table.items()},
                       "sd": {k: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for k, v in table.items()},
                       "curves": curves}
    out = Path(args.out)
    out.write_text(json.dumps({label: {k: v for k, v in a.items() if k != "curves"} for label, a in arms.items()},
                              indent=1) + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(CURVES), figsize=(5 * len(CURVES), 4), sharey=True)
    for ax, (key, title) in zip(axes, CURVES, strict=True):
        for label, a in arms.items():
            steps = sorted(set.intersection(*(set(c) for c in a["curves"])))
            vals = np.array([[c[s][key] for s in steps] for c in a["curves"]])
            ax.plot(steps, vals.mean(0), marker="o", ms=3, label=f"{label} (mean of {len(vals)})")
            ax.fill_between(steps, vals.min(0), vals.max(0), alpha=0.15)
        ax.set(xlabel="step", title=title, ylim=(0, 0.6))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("EER (first 4-s window)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=110)
    plt.close(fig)
    for label, a in arms.items():
        print(label, " ".join(f"{k}={a['mean'][k]:.3f}±{a['sd'][k]:.3f}" for k in FIGURES), flush=True)


if __name__ == "__main__":
    main()
