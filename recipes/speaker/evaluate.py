"""Speaker-verification figures on LibriSpeech test-other for voxguard models and the GE2E teacher.

All 4,950 pairs of the 100 test-other utterances (450 target), cosine scoring, and AS-norm
(top 100) with the 251 librispeech-cohort utterances as the cohort. Conditions: full length;
short (both utterances of every trial cut to their first 2 s / 1 s);
8 kHz telephone (resampled to 8 kHz, 300-3400 Hz band, back to 16 kHz); noisy (white noise at
10 dB / 5 dB SNR, babble of cohort speech at 10 dB). Also measures parameters and the CPU time
per 4 s of audio (one thread, median of repeats, with the load average) of every system in the
same run.

Usage: python evaluate.py DATA_DIR OUT_JSON SYSTEM... [--conditions full,short2,...] [--quick]
SYSTEM: ``ge2e`` (Resemblyzer's encoder, the teacher) or a voxguard weights directory / bundle
name (full-length embedding of the waveform, as ``SpeakerVerifier`` does for files up to 20 s);
``vad:`` or ``speed3:`` before either of the latter changes what is embedded (``policy_inputs``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.signal import butter, sosfilt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from splits import read_manifest  # noqa: E402

from voxguard.audio.activity import speech_only  # noqa: E402
from voxguard.audio.io import load_audio  # noqa: E402
from voxguard.audio.resample import resample  # noqa: E402
from voxguard.metrics import sv_metrics  # noqa: E402
from voxguard.scoring.cosine import all_pairs_trials, cosine_matrix  # noqa: E402
from voxguard.scoring.norm import as_norm_matrix  # noqa: E402

CONDITIONS = ("full", "short2", "short1", "tel8k", "white10", "white5", "babble10")


def degrade(wav: np.ndarray, cond: str, rng: np.random.Generator, babble: np.ndarray) -> np.ndarray:
    """The test condition ``cond`` applied to a 16-kHz signal."""
    if cond == "full":
        return wav
    if cond.startswith("short"):
        return wav[: int(cond[5:]) * 16000]
    if cond == "tel8k":
        sos = butter(6, [300, 3400], btype="bandpass", fs=8000, output="sos")
        low = sosfilt(sos, resample(wav, 16000, 8000)).astype(np.float32)
        return resample(low, 8000, 16000)[: len(wav)]
    snr = float(cond[-2:] if cond[-2:].isdigit() else cond[-1])
    if cond.startswith("white"):
        noise = rng.standard_normal(len(wav))
    else:
        start = int(rng.integers(0, max(len(babble) - len(wav), 1)))
        noise = np.resize(babble[start:], len(wav))
    p = np.mean(wav**2) / (np.mean(noise**2) * 10 ** (snr / 10))
    return (wav + noise * np.sqrt(p)).astype(np.float32)


#: how an input becomes the model's inputs, named before a system spec as ``policy:spec``
INPUT_POLICIES = ("vad", "speed3")


def policy_inputs(wav: np.ndarray, policy: str | None) -> list[np.ndarray]:
    """The signals a model embeds for one input under ``policy`` (their unit embeddings are
    averaged): ``vad`` the speech only (``activity.speech_only``), ``speed3`` the input at speed
    1.0, 0.95 and 1.05 (resampling, as ``spk_augment`` perturbs speed), None the input."""
    if policy == "vad":
        return [speech_only(wav)]
    if policy == "speed3":
        return [wav] + [
            resample(wav, int(16000 * f), 16000).astype(np.float32) for f in (0.95, 1.05)
        ]
    return [wav]


def embed_inputs(model: torch.nn.Module, inputs: list[np.ndarray]) -> np.ndarray:
    """One input's embedding: the model's output for one signal, the mean unit embedding of several."""
    if len(inputs) == 1:
        return model(torch.from_numpy(inputs[0])[None])[0].numpy()
    out = torch.stack([model(torch.from_numpy(x)[None])[0] for x in inputs])
    return torch.nn.functional.normalize(out, dim=-1).mean(0).numpy()


class System:
    """A named embedder of 16-kHz waveforms; ``policy:spec`` applies one of
    :data:`INPUT_POLICIES` to a voxguard model's inputs."""

    def __init__(self, spec: str) -> None:
        head, _, rest = spec.partition(":")
        self.policy = head if rest and head in INPUT_POLICIES else None
        spec = rest if self.policy else spec
        self.spec = spec
        if spec == "ge2e":
            from voxguard.training.teacher import GE2ETeacher

            self.model = GE2ETeacher()
            self.name = "resemblyzer_ge2e (teacher)"
            self.params = sum(p.numel() for p in self.model.parameters())
        else:
            import voxguard

            self.model = voxguard.load_pretrained(spec).eval()
            self.name = f"{self.model.model_name} ({Path(spec).name})" + (
                f", {self.policy}" if self.policy else ""
            )
            self.params = sum(p.numel() for p in self.model.parameters())

    @torch.no_grad()
    def embed(self, wav: np.ndarray) -> np.ndarray:
        if self.spec == "ge2e":
            return self.model.embed(wav)
        return embed_inputs(self.model, policy_inputs(wav, self.policy))

    def cpu_ms_per_4s(self, wav: np.ndarray, repeats: int = 10) -> dict[str, float]:
        x = np.resize(wav, 64000).astype(np.float32)
        self.embed(x)
        cpu, wall = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            self.embed(x)
            wall.append(1000 * (time.perf_counter() - t0))
            cpu.append(1000 * (time.process_time() - c0))
        return {
            "cpu_ms_median": round(float(np.median(cpu)), 1),
            "wall_ms_median": round(float(np.median(wall)), 1),
        }


def metrics(emb: np.ndarray, coh: np.ndarray, speakers: list[str]) -> dict[str, float]:
    i, j, target = all_pairs_trials(speakers)
    out = {}
    for name, mat in (
        ("cos", cosine_matrix(emb, emb)),
        ("asn", as_norm_matrix(emb, emb, coh, 100)),
    ):
        s = mat[i, j]
        m = sv_metrics(s[target], s[~target])
        out[f"eer_pct_{name}"] = round(100 * m["eer"], 2)
        out[f"min_dcf_p01_{name}"] = round(m["min_dcf_p01"], 4)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir")
    ap.add_argument("out_json")
    ap.add_argument("systems", nargs="+")
    ap.add_argument("--conditions", default=",".join(CONDITIONS))
    a = ap.parse_args()
    torch.set_num_threads(1)
    root = Path(a.data_dir)
    entries = read_manifest(root)
    test = [e for e in entries if e["corpus"] == "librispeech-test-other"]
    cohort = [e for e in entries if e["corpus"] == "librispeech-cohort"]
    wavs = [load_audio(root / e["path"], 16000)[0] for e in test]
    coh_wavs = [load_audio(root / e["path"], 16000)[0] for e in cohort]
    babble = np.concatenate(coh_wavs[:40])
    speakers = [e["speaker"] for e in test]
    result = {
        "data": "librispeech-test-other, all 4,950 pairs (450 target); cohort: "
        "librispeech-cohort (251 utterances), AS-norm top 100",
        "systems": {},
    }
    for spec in a.systems:
        sysm = System(spec)
        t0 = time.time()
        rec = {"params": sysm.params, "load_avg_before": os.getloadavg()[0]}
        rec["per_4s"] = sysm.cpu_ms_per_4s(wavs[0])
        rec["load_avg_after_timing"] = round(os.getloadavg()[0], 2)
        coh = np.stack([sysm.embed(w) for w in coh_wavs])
        for cond in a.conditions.split(","):
            rng = np.random.default_rng(0)
            emb = np.stack([sysm.embed(degrade(w, cond, rng, babble)) for w in wavs])
            rec[cond] = metrics(emb, coh, speakers)
            if cond == "full":
                np.save(Path(a.out_json).with_suffix(f".{Path(spec).name}.full.npy"), emb)
            print(sysm.name, cond, rec[cond], flush=True)
        rec["eval_wall_s"] = round(time.time() - t0, 1)
        result["systems"][sysm.name] = rec
        Path(a.out_json).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
