"""After a ``train_waveform.py`` run: keep the averaged ``best.pt`` unless one kept snapshot alone is better.

python recipes/cm/pick_snapshot.py runs/cm/RUN

The run averages its best ``--average`` evaluations by the selection criterion (dev EER +
same-corpus validation EER). When those evaluations come from far-apart steps of a noisy, still
high learning rate (a run stopped early on the STOP file), the average can be worse than its
best member. The summary's ``final_averaged`` criterion is compared with the best snapshot's
(both measured by the same evaluation); if the snapshot wins, ``best.pt`` becomes that snapshot
(the averaged one is kept as ``best_averaged.pt``) and ``summary.json`` says so.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import torch


def main() -> None:
    run = Path(sys.argv[1])
    summary = json.loads((run / "summary.json").read_text())
    history = torch.load(run / "ckpt.pt", weights_only=False)["history"]
    crit, step, state = min(history, key=lambda h: h[0])
    averaged = summary["final_averaged"]["selection"]
    print(f"averaged steps {summary['averaged_steps']}: criterion {averaged:.4f}; best snapshot step {step}: {crit:.4f}")
    if crit < averaged:
        best = torch.load(run / "best.pt", weights_only=False)
        shutil.copy(run / "best.pt", run / "best_averaged.pt")
        torch.save({**best, "model": state, "averaged_steps": [step]}, run / "best.pt")
        summary["shipped"] = {"snapshot_step": step, "selection": crit,
                              "why": f"the single snapshot beats the average of steps {summary['averaged_steps']} ({averaged:.4f})"}
    else:
        summary["shipped"] = {"averaged_steps": summary["averaged_steps"], "selection": averaged}
    (run / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary["shipped"]))


if __name__ == "__main__":
    main()
