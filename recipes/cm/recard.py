"""Rewrite the training record in a shipped waveform-CM bundle's card (and add measured figures), then reseal.

python recipes/cm/recard.py BUNDLE_DIR runs/cm/RUN [--results recipes/cm/results/X.json]

For a bundle written by ``fuse.py --ship`` whose card must be brought up to date without
re-fitting its calibration: the ``training`` record (``fuse.branch_training``; for a fused
bundle, branch 1's record ``branch_1_training``, branch 0's kept as ``branch_0_training``) and, with
``--results``, ``measured`` (an ``evaluate.py`` JSON). The sha256 list is rewritten (``seal_bundle``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fuse import record_training

from voxguard.models._hub import seal_bundle


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundle")
    ap.add_argument("run")
    ap.add_argument("--results", default=None)
    args = ap.parse_args()
    bundle, run = Path(args.bundle), Path(args.run)
    meta = json.loads((bundle / "config.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    card = meta["card"]
    shown = record_training(card, run, summary)
    if args.results:
        card["measured"] = json.loads(Path(args.results).read_text())
    (bundle / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
    seal_bundle(bundle)
    print(json.dumps({k: card.get(k) for k in shown}, indent=1))


if __name__ == "__main__":
    main()
