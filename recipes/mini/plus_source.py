"""Source folder of voxguard-mini-plus: librispeech-mini without voxguard-mini's dev/eval speakers.

Writes ``OUT/manifest.jsonl`` (the shared manifest's librispeech-mini entries whose speaker is in
neither voxguard-mini dev nor eval) and a link ``OUT/librispeech-mini`` to the audio, so that
``voxguard data synth --data OUT`` draws training speakers disjoint from voxguard-mini's dev and
eval sets (see the README, "More training data of the same attacks does not help").

Usage (from the repository root)::

    python recipes/mini/plus_source.py [--shared ../shared/data] [--mini data/voxguard-mini] \
        [--out data/voxguard-mini-plus-src]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

PROTOCOLS = "ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.{}.txt"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--mini", default="data/voxguard-mini")
    ap.add_argument("--out", default="data/voxguard-mini-plus-src")
    args = ap.parse_args()
    shared, mini, out = Path(args.shared), Path(args.mini), Path(args.out)
    held = set()
    for split in ("dev.trl", "eval.trl"):
        for line in (mini / PROTOCOLS.format(split)).read_text().splitlines():
            if line.strip():
                held.add(line.split()[0])
    kept = []
    for line in (shared / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line) if line.strip() else None
        if entry and entry["corpus"] == "librispeech-mini" and entry["speaker"] not in held:
            kept.append(line + "\n")
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.jsonl").write_text("".join(kept))
    link = out / "librispeech-mini"
    if not link.exists():
        link.symlink_to((shared / "librispeech-mini").resolve(), target_is_directory=True)
    speakers = {json.loads(x)["speaker"] for x in kept}
    print(f"{len(kept)} utterances of {len(speakers)} speakers (held out: {len(held)}) -> {out}")


if __name__ == "__main__":
    main()
