"""Tables and spectrograms of the shipped vocoders: python recipes/vocoders/report.py --data ../shared/data

Writes recipes/vocoders/results/{vocoders.json, spectrograms.png}: each vocoder's parameters,
training steps and CPU time, held-out mel-cepstral distortion (the 12 dev cohort utterances
never seen in training) and the log-spectrogram of one held-out utterance next to its copies.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from voxguard.audio.io import load_audio
from voxguard.data.synth.neural_vocoders import bundled_dir, load_vocoder, shipped_vocoders, vocode
from voxguard.training.vocoder import mel_cepstral_distortion

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="../shared/data")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from train import file_lists  # recipes/vocoders/train.py

    _, dev = file_lists(Path(args.data))
    wavs = [load_audio(f, 16000)[0] for f in dev]
    rows = []
    for name in shipped_vocoders():
        meta = json.loads((bundled_dir() / name / "config.json").read_text())
        model = load_vocoder(name)
        c0 = time.process_time()
        copies = [vocode(w, name) for w in wavs]
        cpu = time.process_time() - c0
        mcd = [mel_cepstral_distortion(w, c) for w, c in zip(wavs, copies, strict=True)]
        rows.append({"vocoder": name, "family": meta["family"],
                     "params": sum(p.numel() for p in model.parameters()),
                     "steps": meta["card"]["steps"], "train_cpu_s": meta["card"]["train_cpu_s"],
                     "train_wall_s": meta["card"]["train_wall_s"], "adversarial": meta["card"]["adversarial"],
                     "dev_mcd_db": round(float(np.mean(mcd)), 3),
                     "synthesis_cpu_s_per_audio_s": round(cpu / sum(len(w) for w in wavs) * 16000, 4)})
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "vocoders.json").write_text(json.dumps(rows, indent=1) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = wavs[0][: 3 * 16000]
    panels = [("bona fide (held-out cohort utterance)", x)] + [(n, vocode(x, n)) for n in shipped_vocoders()]
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.1 * len(panels)), sharex=True)
    for ax, (title, y) in zip(axes, panels, strict=True):
        ax.specgram(y, NFFT=512, Fs=16000, noverlap=384, cmap="magma", vmin=-140)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("Hz")
    axes[-1].set_xlabel("s")
    fig.tight_layout()
    fig.savefig(out / "spectrograms.png", dpi=100)
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
