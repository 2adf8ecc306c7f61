"""Bundle a fine-tuned vocoder under a new name, with the held-out MCD measured on this machine.

python recipes/vocoders/bundle_finetuned.py EXPORT_DIR NEW_NAME --data ../shared/data --baseline SHIPPED

A run on a machine without pysptk (``train.py --no-mcd``, e.g. the lent GPU) leaves the card's
``dev_mcd_db`` empty. This measures it here on the same 12 held-out cohort utterances as
``train.py`` (``training.vocoder.evaluate``), next to the shipped ``--baseline``'s, and installs
the weights as ``NEW_NAME`` only if the MCD is lower (the rule of the README's GPU section);
the weights are not changed, the card is rewritten with the figure and re-hashed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from train import file_lists

from voxguard.data.synth.neural_vocoders import bundled_dir, load_vocoder, save_vocoder, spec_of
from voxguard.training.vocoder import evaluate, load_corpus


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("export")
    ap.add_argument("name")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--baseline", required=True, help="the shipped vocoder it must beat")
    args = ap.parse_args()
    _, dev_files = file_lists(Path(args.data))
    dev = load_corpus(dev_files)
    new = evaluate(load_vocoder(args.export), dev)
    base = evaluate(load_vocoder(args.baseline), dev)
    print(
        f"{args.name}: MCD {new['dev_mcd_db']:.3f} dB (mel L1 {new['dev_mel_l1']:.4f}); "
        f"{args.baseline}: {base['dev_mcd_db']:.3f} dB ({base['dev_mel_l1']:.4f})"
    )
    if not new["dev_mcd_db"] < base["dev_mcd_db"]:
        sys.exit(f"{args.name}: not lower than {args.baseline}'s MCD; not installed")
    meta = json.loads((Path(args.export) / "config.json").read_text())
    card = {k: v for k, v in meta["card"].items() if k not in ("sha256", "files")}
    card.update(
        dev_mcd_db=round(new["dev_mcd_db"], 3),
        dev_mel_l1=round(new["dev_mel_l1"], 4),
        dev_mcd_db_of_baseline=round(base["dev_mcd_db"], 3),
        baseline=args.baseline,
    )
    spec = dataclasses.replace(spec_of(meta), name=args.name)
    out = save_vocoder(load_vocoder(args.export), spec, bundled_dir() / args.name, card)
    print(f"{args.name}: installed into the package ({out.name})")


if __name__ == "__main__":
    main()
