"""Params, MACs and CPU latency (4 s of audio, one thread) of the speaker families and the teacher.

MACs: voxguard's counter (torch FlopCounterMode FLOPs / 2 plus RNN/attention hooks,
:mod:`voxguard.profiling.macs`) on one 4-s waveform, fbank front-end included. The GE2E
teacher's MACs are its LSTM + linear on the 5 partials of 160 frames that ``embed_utterance``
forms for 4 s (rate 1.3/s), mel front-end not counted.

Usage: python families.py OUT_JSON
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

from voxguard.models import create_model
from voxguard.profiling.macs import count_macs
from voxguard.profiling.report import complexity

FAMILIES = ("bccmt_tiny", "bccmt_small", "bccmt_base", "acanet", "ecapa_tdnn")


def main(out_json: str) -> None:
    torch.set_num_threads(1)
    out = {
        "input": "4 s waveform at 16 kHz, batch 1, one thread",
        "load_avg_start": os.getloadavg()[0],
        "models": {},
    }
    for name in FAMILIES:
        torch.manual_seed(0)
        r = complexity(create_model(name), seconds=4.0, latency=True, threads=1, repeats=10)
        out["models"][name] = {
            "params": r["params_total"],
            "macs": r["macs"],
            "latency_ms_median": r["latency_ms"],
        }
        print(name, out["models"][name], flush=True)
    from voxguard.training.teacher import GE2ETeacher

    t = GE2ETeacher()
    macs = count_macs(t, torch.zeros(5, 160, 40)).total
    out["models"]["resemblyzer_ge2e"] = {
        "params": sum(p.numel() for p in t.parameters()),
        "macs": macs,
    }
    out["load_avg_end"] = os.getloadavg()[0]
    Path(out_json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
