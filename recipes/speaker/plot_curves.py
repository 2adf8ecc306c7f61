"""Learning curves of distillation runs: training losses and the dev EER against steps.

Usage: python plot_curves.py OUT_PNG RUN [RUN...]
RUN: a run directory (its log.jsonl) or a log.jsonl file, optionally RUN@STEP to give the step
its weights started from when the checkpoint it was initialised from no longer exists.
A run started from another run's checkpoint or a bundle (``init_from``) is drawn after it: its
steps are offset by the training steps behind the weights it started from (``init_step`` in its
log, else that checkpoint's card). Runs with attention-map KD or similarity matching (``w_rel``)
also get that term drawn, and runs with a moving average of the weights (``ema_decay``) the
average's dev EER on the 38 speakers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(out_png: str, *runs: str) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for arg in runs:
        run, _, given = arg.partition("@")
        path = Path(run)
        log = path if path.is_file() else path / "log.jsonl"
        rows = [json.loads(x) for x in log.read_text().splitlines() if x]
        init = next((r for r in rows if "init_from" in r), None)
        offset = 0
        if given:  # RUN@STEP: a log kept without its run directory (the checkpoint is gone)
            offset = int(given)
        elif "init_step" in (init or {}):  # logged by train.py: all stages behind the weights
            offset = int(init["init_step"])
        elif init is not None:
            card = json.loads((Path(init["init_from"]) / "config.json").read_text())["card"]
            # the step of the checkpoint it started from (not the steps its run went on for)
            offset = int(card.get("train_step", card.get("training", {}).get("selected_step", 0)))
        for r in rows:
            r["step"] = r.get("step", 0) + offset
        train = [r for r in rows if "loss" in r]
        dev = [r for r in rows if "dev_eer_pct" in r]
        name = path.name if path.is_dir() else path.stem.removeprefix("log_")
        full = [r for r in dev if "dev_full_eer_pct" in r]
        attn = [r for r in train if "attn_kd" in r]  # runs with BC-CMT attention-map KD
        lines = [  # (axis, rows, value of a row, style, label)
            (
                2,
                full,
                lambda r: r["dev_full_eer_pct"],
                "s--",
                f"{name} (38 dev speakers, 104 utt.: checkpoint choice)",
            ),
            (0, train, lambda r: r["kd"], "-", f"{name} KD"),
            (0, train, lambda r: 0.2 * r["aam"], "-", f"{name} 0.2 x AAM"),
            (0, attn, lambda r: r["attn_kd"], ":", f"{name} attention-map KD (KL)"),
            # runs with similarity matching (w_rel): its 1 - correlation, unweighted, dashed
            (
                0,
                [r for r in train if "rel" in r],
                lambda r: r["rel"],
                "--",
                f"{name} 1 - sim. corr.",
            ),
            (1, train, lambda r: r["cos_clean"], "-", name),
            (2, dev, lambda r: r["dev_eer_pct"], "o-", name),
            # runs with a moving average of the weights (ema_decay): its dev figures, dotted
            (
                2,
                [r for r in full if "ema_dev_full_eer_pct" in r],
                lambda r: r["ema_dev_full_eer_pct"],
                "s:",
                f"{name} EMA weights (38 speakers)",
            ),
        ]
        for ax, part, value, style, label in lines:
            if part:
                axes[ax].plot(
                    [r["step"] for r in part], [value(r) for r in part], style, label=label
                )
    axes[0].set(title="training losses", xlabel="step")
    axes[1].set(title="cos(P s, teacher) on training crops", xlabel="step")
    axes[2].set(title="dev EER % (6 held-out speakers, 72 utt.)", xlabel="step", yscale="log")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], *sys.argv[2:])
