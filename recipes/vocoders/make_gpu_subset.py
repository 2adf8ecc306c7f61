"""Copy a subset of the vocoders' training speech that fits a lent GPU machine's transfer limit.

python recipes/vocoders/make_gpu_subset.py --data ../shared/data --out .devcarry/voc --max-mb 18

Dev: the 12 held-out librispeech-cohort utterances of ``train.py`` (the same MCD set as the
shipped vocoders). Train: other librispeech-cohort utterances (one per speaker, so the most
speakers per megabyte), drawn at random with ``--seed`` until ``--max-mb`` of FLAC; never
test-other or the validation sets. Writes ``OUT/files.json`` for ``train.py --files-from``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf
from train import file_lists


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-mb", type=float, default=18.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    data, out = Path(args.data), Path(args.out)
    train_all, dev = file_lists(data)
    cohort = [f for f in train_all if "librispeech-cohort" in Path(f).parts]
    order = np.random.default_rng(args.seed).permutation(len(cohort))
    chosen, total = [], 0
    for i in order:
        size = Path(cohort[i]).stat().st_size
        if total + size > args.max_mb * 1e6:
            break
        chosen.append(cohort[i])
        total += size
    lists = {}
    for key, files in (("train", sorted(chosen)), ("dev", dev)):
        lists[key] = []
        for f in files:
            rel = Path(f).relative_to(data)
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, out / rel)
            lists[key].append(rel.as_posix())
    minutes = sum(sf.info(f).duration for f in chosen) / 60
    lists["describe"] = (
        f"LibriSpeech (CC BY 4.0): {len(chosen)} librispeech-cohort utterances ({minutes:.1f} min, "
        f"one per speaker) of the shared data, the subset that fits a lent GPU machine's transfer"
    )
    (out / "files.json").write_text(json.dumps(lists, indent=1) + "\n")
    print(
        f"{len(chosen)} train files ({total / 1e6:.1f} MB, {minutes:.1f} min), {len(dev)} dev -> {out}"
    )


if __name__ == "__main__":
    main()
