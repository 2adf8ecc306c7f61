"""Train the shipped neural vocoders on the shared LibriSpeech speech (one CPU thread each).

python recipes/vocoders/train.py --data ../shared/data --out runs/vocoders [--vocoders hifigan_s,...]
    [--steps 2500] [--gan-start -1] [--batch 8] [--lr 5e-4] [--device cpu|cuda|auto]
    [--max-minutes M] [--init-from VOCODER] [--no-mcd] [--files-from FILES.json]

``--files-from`` names the train and dev files instead (JSON ``{"train": [...], "dev": [...],
"describe": "..."}``, paths relative to ``--data``): how a subset of the speech travels to a
lent GPU machine (``make_gpu_subset.py``). ``--no-mcd`` where pysptk is missing (the held-out
MCD is then measured afterwards by ``bundle_finetuned.py``).

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
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    ap.add_argument("--max-minutes", type=float, default=0.0, help="stop and export after M minutes")
    ap.add_argument("--init-from", default="", help="start from a saved vocoder (name or folder; 'shipped': each from its own shipped weights)")
    ap.add_argument("--no-mcd", action="store_true", help="log-mel L1 only at evaluations")
    ap.add_argument("--files-from", default=None, help="JSON with train / dev lists (see above)")
    ap.add_argument("--install", action="store_true", help="copy the exported vocoders into the package")
    args = ap.parse_args()
    extra = {}
    if args.files_from:
        lists = json.loads(Path(args.files_from).read_text())
        train_files = [str(Path(args.data) / f) for f in lists["train"]]
        dev_files = [str(Path(args.data) / f) for f in lists["dev"]]
        extra["train_data"] = lists["describe"]
    else:
        train_files, dev_files = file_lists(Path(args.data))
    for name in args.vocoders.split(","):
        cfg = VocoderTrainConfig(vocoder=name, out=str(Path(args.out) / name), train_files=train_files,
                                 dev_files=dev_files, steps=args.steps, gan_start=args.gan_start,
                                 seed=args.seed, batch=args.batch, lr=args.lr,
                                 eval_every=args.eval_every, device=args.device,
                                 max_minutes=args.max_minutes,
                                 init_from=name if args.init_from == "shipped" else args.init_from,
                                 mcd=not args.no_mcd, **extra)
        export = train(cfg)
        print(f"{name}: exported to {export}", flush=True)
        if args.install:
            dest = bundled_dir() / name
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(export, dest)
            print(f"{name}: installed into {dest}", flush=True)


if __name__ == "__main__":
    main()
