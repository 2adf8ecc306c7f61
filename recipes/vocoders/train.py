"""Train the shipped neural vocoders on the shared LibriSpeech speech (one CPU thread each).

python recipes/vocoders/train.py --data ../shared/data --out runs/vocoders [--vocoders hifigan_s,...]
    [--steps 2500] [--gan-start -1]

Train data: librispeech-mini (all 1,519 utterances) + librispeech-cohort minus the 12 held-out
cohort utterances used as dev (mel-cepstral distortion of copy-synthesis). test-other is never
used. Each run resumes from its ckpt.pt; the exported vocoder lands in OUT/NAME/export and is
copied into the package with --install.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from voxguard.data.synth.neural_vocoders import SPECS, bundled_dir
from voxguard.training.vocoder import VocoderTrainConfig, train


def file_lists(data: Path) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in (data / "manifest.jsonl").open()]
    mini = [str(data / r["path"]) for r in rows if r["corpus"] == "librispeech-mini"]
    cohort = sorted(str(data / r["path"]) for r in rows if r["corpus"] == "librispeech-cohort")
    dev = cohort[::21][:12]
    return sorted(mini) + [c for c in cohort if c not in dev], dev


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default="runs/vocoders")
    ap.add_argument("--vocoders", default=",".join(SPECS))
    ap.add_argument("--steps", type=int, default=2500)
    ap.add_argument("--gan-start", type=int, default=-1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--install", action="store_true", help="copy the exported vocoders into the package")
    args = ap.parse_args()
    train_files, dev_files = file_lists(Path(args.data))
    for name in args.vocoders.split(","):
        cfg = VocoderTrainConfig(vocoder=name, out=str(Path(args.out) / name), train_files=train_files,
                                 dev_files=dev_files, steps=args.steps, gan_start=args.gan_start,
                                 seed=args.seed)
        export = train(cfg)
        print(f"{name}: exported to {export}", flush=True)
        if args.install:
            dest = bundled_dir() / name
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(export, dest)
            print(f"{name}: installed into {dest}", flush=True)


if __name__ == "__main__":
    main()
