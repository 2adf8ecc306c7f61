"""Params and CPU time per 4 s of audio of the student bundle and the GE2E teacher, in one run.

One thread; each system embeds the same 4-s test-other excerpt ``--repeats`` times after a warm-up;
CPU time (process time) and wall time medians, with the load average before and after (the
machine is shared, so wall time depends on the load; CPU time much less).

Usage: python timing.py DATA_DIR BUNDLE OUT_JSON [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate import System  # noqa: E402
from splits import splits  # noqa: E402

from voxguard.audio.io import load_audio  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir")
    ap.add_argument("bundle")
    ap.add_argument("out_json")
    ap.add_argument("--repeats", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(1)
    test = splits(a.data_dir)["test"]
    wav = load_audio(Path(a.data_dir) / test[0]["path"], 16000)[0]
    out = {
        "input": f"first 4 s of {test[0]['utt']} (tiled if shorter), 1 thread",
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
        "systems": {},
    }
    for spec in (a.bundle, "ge2e"):
        s = System(spec)
        out["systems"][s.name] = {"params": s.params, **s.cpu_ms_per_4s(wav, a.repeats)}
        print(s.name, out["systems"][s.name], flush=True)
    out["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    Path(a.out_json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
