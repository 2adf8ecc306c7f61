"""Evaluate a CM bundle through the real inference path (whole-utterance windows, speech gate).

python recipes/cm/evaluate.py BUNDLE --engine data/voxguard-engine --shared ../shared/data \
    --out recipes/cm/results/NAME.json

Every figure of the issue, at the bundle's shipped threshold (its calibration + operating point):
- engine eval (unseen attack families): EER, minDCF, actDCF, Cllr, per attack;
- speecht5-hifigan: share called spoof; vctk-vc: EER and share of conversions called spoof;
  SpeechT5 vs vctk-vc bona fide EER (same-corpus bona fide);
- bona fide called spoof: librispeech-test-other (whole utterances and 1-s crops),
  vctk-vc/bonafide, ami-excerpts (count of 15), fsdd (every 10th clip of all speakers);
- partial spoofs: 20 s of genuine test-other speech with one 1-2.5 s spoofed segment
  (piper, espeak-ng, kokoro or a neural-vocoder copy) anywhere: share caught;
- non-speech: white / pink noise, tones, silence, music-like chords and clicks: share bona fide.
The official AASIST reference on the same engine eval files: ``aasist_reference.py``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from voxguard.api import SpoofDetector
from voxguard.audio.io import load_audio
from voxguard.metrics.cllr import cllr
from voxguard.metrics.dcf import act_dcf, min_dcf
from voxguard.metrics.det import eer

RATE = 16000


def rows_of(manifest: Path, root: Path) -> list[dict]:
    out = []
    for line in manifest.open(encoding="utf-8"):
        r = json.loads(line)
        r["file"] = str(root / r["path"])
        out.append(r)
    return out


def scores(det: SpoofDetector, files: list[str]) -> tuple[np.ndarray, list[str]]:
    res = det.score_files(files)
    vals = np.array([r.calibrated if r.calibrated is not None else r.score for r in res], dtype=float)
    return vals, [r.decision or "" for r in res]


def non_speech(rng: np.random.Generator) -> dict[str, np.ndarray]:
    t = np.arange(4 * RATE) / RATE
    from voxguard.data.synth.channels import pink_noise

    chord = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) / 3
    melody = np.concatenate([np.sin(2 * np.pi * f * t[: RATE // 2]) for f in (440, 494, 523, 587, 659, 698, 784, 880)])
    clicks = np.zeros_like(t)
    clicks[:: RATE // 4] = 1.0
    return {
        "white_noise": 0.1 * rng.standard_normal(4 * RATE),
        "pink_noise": 0.1 * pink_noise(4 * RATE, rng) / 0.1,
        "tone_440": 0.3 * np.sin(2 * np.pi * 440 * t),
        "tone_1k": 0.3 * np.sin(2 * np.pi * 1000 * t),
        "silence": np.zeros(4 * RATE),
        "digital_near_silence": 1e-4 * rng.standard_normal(4 * RATE),
        "chord": 0.3 * chord,
        "melody": 0.3 * melody,
        "clicks": 0.5 * clicks,
        "chord_plus_noise": 0.3 * chord + 0.02 * rng.standard_normal(4 * RATE),
    }


def partial_spoofs(shared: Path, n: int, rng: np.random.Generator) -> list[tuple[np.ndarray, str, float]]:
    """``n`` 20-s genuine test-other signals with one spoofed 1-2.5 s segment each."""
    from voxguard.data.synth import tts
    from voxguard.data.synth.neural_vocoders import vocode

    rows = [json.loads(x) for x in (shared / "manifest.jsonl").open() if '"librispeech-test-other"' in x]
    by_spk: dict[str, list[str]] = {}
    for r in rows:
        by_spk.setdefault(r["speaker"], []).append(str(shared / r["path"]))
    out = []
    kinds = ["piper", "espeak", "kokoro", "hifigan", "vocos"]
    words = "i authorise the payment of five hundred pounds to this account today".split()
    for i in range(n):
        spk = sorted(by_spk)[i % len(by_spk)]
        files = by_spk[spk]
        genuine = np.concatenate([load_audio(f, RATE)[0] for f in files[(i // 10) % 3 :][:4]])[: 20 * RATE]
        if len(genuine) < 20 * RATE:
            genuine = np.pad(genuine, (0, 20 * RATE - len(genuine)))
        seg_len = int(rng.uniform(1.0, 2.5) * RATE)
        start = int(rng.integers(0, 20 * RATE - seg_len))
        kind = kinds[i % len(kinds)]
        if kind in ("hifigan", "vocos"):
            fake = vocode(genuine[start : start + seg_len], f"{kind}_s")
        else:
            k = max(2, int(seg_len / RATE * 2.5))
            j = int(rng.integers(0, len(words) - k))
            text = " ".join(words[j : j + k])
            fake = {"piper": tts.piper, "espeak": tts.espeak_ng, "kokoro": tts.kokoro}[kind](text)[:seg_len]
            fake = np.pad(fake, (0, seg_len - len(fake)))
        ref = genuine[max(0, start - RATE) : start + seg_len + RATE]
        fake = fake * (np.sqrt(np.mean(ref**2)) + 1e-9) / (np.sqrt(np.mean(fake**2)) + 1e-9)
        x = genuine.copy()
        x[start : start + seg_len] = fake
        out.append((x.astype(np.float32), kind, seg_len / RATE))
    return out


def cm_metrics(s: np.ndarray, bona: np.ndarray) -> dict[str, float]:
    return {"eer": float(eer(s[bona], s[~bona])[0]), "min_dcf": float(min_dcf(s[bona], s[~bona])[0]),
            "act_dcf": float(act_dcf(s[bona], s[~bona])[0]), "cllr": float(cllr(s[bona], s[~bona])),
            "n_bonafide": int(bona.sum()), "n_spoof": int((~bona).sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundle")
    ap.add_argument("--engine", default="data/voxguard-engine")
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--out", required=True)
    ap.add_argument("--partial", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--hop", type=float, default=None, help="window hop in seconds (default: the bundle's)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    shared, engine = Path(args.shared), Path(args.engine)
    hop = int(args.hop * RATE) if args.hop else None
    det = SpoofDetector.from_pretrained(args.bundle, num_threads=args.threads, hop=hop)
    thr = det.decision_threshold
    res: dict = {"bundle": args.bundle, "threshold": thr, "score_kind": det.score_kind, "hop_s": args.hop}
    t0, c0 = time.time(), time.process_time()
    eng_all = rows_of(engine / "manifest.jsonl", engine)
    eng = [r for r in eng_all if r["split"] == "eval"]
    s, _ = scores(det, [r["file"] for r in eng])
    bona = np.array([r["label"] == "bonafide" for r in eng])
    res["engine_eval"] = cm_metrics(s, bona)
    res["engine_eval"]["per_attack_eer"] = {
        a: float(eer(s[bona], s[np.array([r["attack"] == a for r in eng])])[0])
        for a in sorted({r["attack"] for r in eng if r["label"] == "spoof"})}
    res["engine_eval"]["bonafide_called_spoof"] = float(np.mean(s[bona] < thr))
    res["engine_eval"]["spoof_called_bonafide"] = float(np.mean(s[~bona] >= thr))
    sub = rows_of(shared / "speecht5-hifigan" / "manifest.jsonl", shared)
    st5, _ = scores(det, [r["file"] for r in sub])
    res["speecht5_called_spoof"] = float(np.mean(st5 < thr))
    res["speecht5_called_spoof_per_voice"] = {
        v: float(np.mean(st5[np.array([r["attack"] == v for r in sub])] < thr)) for v in sorted({r["attack"] for r in sub})}
    vc = rows_of(shared / "vctk-vc" / "manifest.jsonl", shared)
    svc, _ = scores(det, [r["file"] for r in vc])
    vb = np.array([r["label"] == "bonafide" for r in vc])
    res["vctk_vc"] = {"eer": float(eer(svc[vb], svc[~vb])[0]), "conversions_called_spoof": float(np.mean(svc[~vb] < thr)),
                      "bonafide_called_spoof": float(np.mean(svc[vb] < thr)),
                      "speecht5_vs_vctk_bonafide_eer": float(eer(svc[vb], st5)[0])}
    systems = np.array([r["attack"] for r in vc])
    res["vctk_vc"]["called_spoof_per_system"] = {
        a: float(np.mean(svc[systems == a] < thr)) for a in sorted(set(systems[~vb]))}
    ami = rows_of(shared / "ami-excerpts" / "manifest.jsonl", shared)
    sami, dami = scores(det, [r["file"] for r in ami])
    res["ami_called_spoof"] = int(np.sum(sami < thr))
    res["ami_no_speech"] = int(sum(d == "no_speech" for d in dami))
    allrows = [json.loads(x) for x in (shared / "manifest.jsonl").open()]
    to = [str(shared / r["path"]) for r in allrows if r["corpus"] == "librispeech-test-other"]
    sto, _ = scores(det, to)
    res["test_other_called_spoof"] = float(np.mean(sto < thr))
    rng = np.random.default_rng(0)
    crops = []
    for f in to:
        x, _ = load_audio(f, RATE)
        a, b = int(0.2 * len(x)), int(0.8 * len(x)) - RATE
        st = int(rng.integers(a, max(b, a + 1)))
        crops.append(x[st : st + RATE])
    sc = np.array([(d.calibrated if d.calibrated is not None else d.score) for d in det.score_arrays(crops, RATE)])
    res["test_other_1s_called_spoof"] = float(np.mean(sc < thr))
    fsdd = [r for r in allrows if r["corpus"] == "fsdd"][::10]
    sfs, dfs = scores(det, [str(shared / r["path"]) for r in fsdd])
    spoofed = np.array([(v < thr) and d != "no_speech" for v, d in zip(sfs, dfs, strict=True)])
    res["fsdd_called_spoof"] = float(np.mean(spoofed))
    res["fsdd_no_speech"] = float(np.mean([d == "no_speech" for d in dfs]))
    res["fsdd_n"] = len(fsdd)
    # every 10th clip of all six speakers mixes in the engine's training speakers: the held-out
    # speakers' clips alone are the honest figure
    trained = {r["speaker"] for r in eng_all if r.get("source_corpus") == "fsdd" and r["split"] == "train"}
    held = np.array([r["speaker"] not in trained for r in fsdd])
    res["fsdd_heldout_speakers_called_spoof"] = float(np.mean(spoofed[held])) if held.any() else None
    res["fsdd_heldout_n"] = int(held.sum())
    ns = non_speech(rng)
    dets = det.score_arrays([v.astype(np.float32) for v in ns.values()], RATE)
    res["non_speech"] = {k: d.decision for k, d in zip(ns, dets, strict=True)}
    res["non_speech_called_bonafide"] = float(np.mean([d.decision == "bonafide" for d in dets]))
    if args.partial:
        ps = partial_spoofs(shared, args.partial, rng)
        dps = det.score_arrays([p[0] for p in ps], RATE)
        caught = [d.decision == "spoof" for d in dps]
        res["partial_caught"] = float(np.mean(caught))
        res["partial_caught_per_kind"] = {k: float(np.mean([c for c, p in zip(caught, ps, strict=True) if p[1] == k]))
                                          for k in sorted({p[1] for p in ps})}
    res["wall_s"], res["cpu_s"] = time.time() - t0, time.process_time() - c0
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
