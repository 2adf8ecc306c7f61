"""A dev-only engine supplement of many unseen LibriSpeech speakers (cohort-dev).

python recipes/cm/build_cohort_dev.py --out data/voxguard-cohort-dev [--speakers 100] [--seed 0]

The engine's dev split has four LibriSpeech speakers; the shipped CM rejects 1 of its 220 bona
fide files but 12 % of the eval's and 10 % of test-other's, most of them from a few speakers
(`bona_by_speaker.py`). This draws ``--speakers`` speakers of ``librispeech-cohort`` that are not
``librispeech-mini`` speakers (so no engine dev / eval speaker and no mini training speaker), one
6-s file each, and renders them with the engine's dev attacks and channels into a build of the
same layout, dev split only (bona fide copy + two spoofs per file). A model evaluated on it must be
trained without those speakers: ``train_waveform.py --hold-out BUILD`` drops every training row
(main build and supplements) of a speaker this build holds.

Writes ``OUT/sources.jsonl`` (the drawn cohort records, absolute audio paths, plus the training
corpora's transcribed records that TTS attacks read for these untranscribed sources) and the
build under ``OUT`` (``manifest.jsonl``, protocols, ``build_config.json``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from voxguard.data.manifest import read_manifest
from voxguard.data.synth.build import BuildConfig, SourceSpec, build


def draw_speakers(records, n: int, seed: int) -> list[str]:
    """``n`` cohort speakers outside librispeech-mini, drawn with ``seed`` (sorted ids first, so the
    draw does not depend on manifest order)."""
    mini = {r.speaker for r in records if r.corpus == "librispeech-mini"}
    pool = sorted({r.speaker for r in records if r.corpus == "librispeech-cohort"} - mini)
    if n > len(pool):
        raise SystemExit(
            f"--speakers {n}: only {len(pool)} cohort speakers are not librispeech-mini speakers"
        )
    rng = np.random.default_rng(seed)
    return sorted(pool[i] for i in rng.permutation(len(pool))[:n])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", required=True)
    ap.add_argument(
        "--data", default="../shared/data", help="the shared data folder (manifest.jsonl)"
    )
    ap.add_argument("--speakers", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    data, out = Path(args.data).resolve(), Path(args.out)
    if not (data / "manifest.jsonl").is_file():
        raise SystemExit(f"--data {data}: no manifest.jsonl there; pass the shared data folder")
    records = read_manifest(data / "manifest.jsonl", default_label="bonafide")
    held = set(draw_speakers(records, args.speakers, args.seed))
    out.mkdir(parents=True, exist_ok=True)
    with (out / "sources.jsonl").open("w", encoding="utf-8") as f:
        for r in records:
            dev = r.corpus == "librispeech-cohort" and r.speaker in held
            text_only = r.corpus == "librispeech-mini" and r.text  # transcripts for the TTS attacks
            if dev or text_only:
                f.write(json.dumps({**r.to_dict(), "path": str(r.resolve(data))}) + "\n")
    cfg = BuildConfig(
        data=str(out / "sources.jsonl"),
        out=str(out),
        seed=args.seed,
        workers=args.workers,
        sources=[SourceSpec("librispeech-cohort", (0, args.speakers, 0), 1)],
    )
    t0, c0 = time.time(), time.process_time()
    recs = build(cfg, progress=sys.stderr.isatty())
    speakers = sorted({r.speaker for r in recs})
    assert set(speakers) == held, "the build drew other speakers than the held-out ones"
    print(
        json.dumps(
            {
                "files": len(recs),
                "speakers": len(speakers),
                "bonafide": sum(r.label == "bonafide" for r in recs),
                "wall_s": round(time.time() - t0),
                "cpu_s_main": round(time.process_time() - c0),
            }
        )
    )


if __name__ == "__main__":
    main()
