"""Speaker-verification trials on the validation folders of other corpora, for selection only.

The speaker recipe's dev set (``splits.py``) has six target speakers, one chapter each. The data
README allows the validation folders for selection (never for training), and two of them hold
real speech with several utterances per speaker:

- ``ami-excerpts``: every RTTM speaker turn of at least 2.0 s, cut to its longest stretch that no
  other speaker's turn overlaps, kept if that stretch is at least 1.5 s (far-field meeting speech,
  29 speakers);
- ``vctk-vc/bonafide``: every bona fide file (5 VCTK speakers).

Trials are all pairs within each corpus (no cross-corpus pairs: they would test the corpus, not
the speaker), pooled into one cosine EER. ``--bootstrap N`` resamples speakers with replacement
within each corpus (trials rebuilt from the resampled speakers' segments) and reports, for the
first system against each other, the share of resamples in which the other system's pooled EER
is lower. With few target trials (50 on this set) the EER moves in steps of whole points, so
every EER comes with the minimum Cllr of the same trials (bits; Brümmer & du Preez 2006), a
score-based measure that every trial moves. Nothing is trained or estimated here.

Usage: python validation_speakers.py DATA_DIR OUT_JSON SYSTEM... [--bootstrap 1000]
SYSTEM: as ``evaluate.py``'s — ``ge2e`` (the teacher) or a weights directory / bundle name.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate import System  # noqa: E402

from voxguard.audio.io import load_audio  # noqa: E402
from voxguard.metrics import sv_eer  # noqa: E402
from voxguard.metrics.cllr import min_cllr  # noqa: E402

MIN_TURN_S = 2.0
MIN_CLEAN_S = 1.5
SR = 16000


def read_rttm(path: Path) -> list[tuple[str, float, float, str]]:
    """``(file id, start, end, speaker)`` of every SPEAKER line."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        f = line.split()
        if not f or f[0] != "SPEAKER":
            continue
        if len(f) < 8:
            raise ValueError(f"{path}:{n}: an RTTM SPEAKER line needs 8+ fields, got {len(f)}")
        start, dur = float(f[3]), float(f[4])
        out.append((f[1], start, start + dur, f[7]))
    return out


def clean_stretch(
    turn: tuple[float, float], others: list[tuple[float, float]]
) -> tuple[float, float]:
    """The longest part of ``turn`` that no interval of ``others`` overlaps."""
    cuts = sorted(
        (max(s, turn[0]), min(e, turn[1])) for s, e in others if s < turn[1] and e > turn[0]
    )
    best, pos = (turn[0], turn[0]), turn[0]
    for s, e in cuts:
        if s - pos > best[1] - best[0]:
            best = (pos, s)
        pos = max(pos, e)
    if turn[1] - pos > best[1] - best[0]:
        best = (pos, turn[1])
    return best


def ami_segments(data: Path) -> list[dict]:
    """``corpus, speaker, path, start, end`` of every kept AMI turn."""
    manifest = [
        json.loads(x)
        for x in (data / "ami-excerpts" / "manifest.jsonl").read_text().splitlines()
        if x
    ]
    by_id = {e["utt"].removeprefix("ami_"): e for e in manifest}
    turns = [t for p in sorted((data / "ami-excerpts").glob("*.rttm")) for t in read_rttm(p)]
    out = []
    for fid, s, e, spk in turns:
        if e - s < MIN_TURN_S or fid not in by_id:
            continue
        others = [(s2, e2) for f2, s2, e2, k2 in turns if f2 == fid and k2 != spk]
        a, b = clean_stretch((s, e), others)
        if b - a >= MIN_CLEAN_S:
            out.append(
                {"corpus": "ami", "speaker": spk, "path": by_id[fid]["path"], "start": a, "end": b}
            )
    return out


def vctk_segments(data: Path) -> list[dict]:
    lines = (data / "vctk-vc" / "manifest.jsonl").read_text().splitlines()
    rows = [json.loads(x) for x in lines if x]
    return [
        {"corpus": "vctk", "speaker": r["speaker"], "path": r["path"], "start": 0.0, "end": None}
        for r in rows
        if r["label"] == "bonafide"
    ]


def load_segment(data: Path, seg: dict) -> np.ndarray:
    wav = load_audio(data / seg["path"], SR)[0]
    a = int(seg["start"] * SR)
    b = len(wav) if seg["end"] is None else int(seg["end"] * SR)
    return np.ascontiguousarray(wav[a:b])


def pooled_trials(segs: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``i, j, target`` of all pairs of ``segs`` within each corpus."""
    ii, jj, tt = [], [], []
    for a in range(len(segs)):
        for b in range(a + 1, len(segs)):
            if segs[a]["corpus"] != segs[b]["corpus"]:
                continue
            ii.append(a)
            jj.append(b)
            tt.append(segs[a]["speaker"] == segs[b]["speaker"])
    return np.array(ii), np.array(jj), np.array(tt, dtype=bool)


def eer_pct(cos: np.ndarray, i: np.ndarray, j: np.ndarray, target: np.ndarray) -> float:
    sc = cos[i, j]
    return 100 * sv_eer(sc[target], sc[~target])


def cllr_min(cos: np.ndarray, i: np.ndarray, j: np.ndarray, target: np.ndarray) -> float:
    """Minimum Cllr (bits) of the trials: 0 when targets and non-targets are separated, 1 when
    the scores carry no information about them."""
    sc = cos[i, j]
    return min_cllr(sc[target], sc[~target])


def resample_speakers(segs: list[dict], rng: np.random.Generator) -> np.ndarray:
    """Segment indices of one bootstrap draw: speakers drawn with replacement in each corpus;
    a speaker drawn twice contributes its segments twice (its copies are relabelled apart)."""
    picks = []
    for corpus in ("ami", "vctk"):
        spk = sorted({s["speaker"] for s in segs if s["corpus"] == corpus})
        for copy, k in enumerate(rng.integers(0, len(spk), len(spk))):
            picks += [
                (n, copy)
                for n, s in enumerate(segs)
                if s["corpus"] == corpus and s["speaker"] == spk[k]
            ]
    return np.array(picks)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir")
    ap.add_argument("out_json")
    ap.add_argument("weights", nargs="+", metavar="SYSTEM")
    ap.add_argument("--bootstrap", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0, c0 = time.time(), time.process_time()
    data = Path(args.data_dir)
    segs = ami_segments(data) + vctk_segments(data)
    wavs = [load_segment(data, s) for s in segs]
    cos = {}
    for w in args.weights:
        system = System(w)
        emb = np.stack([system.embed(x) for x in wavs])
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        cos[w] = emb @ emb.T
    i, j, t = pooled_trials(segs)
    rows = {}
    for w, c in cos.items():
        per = {}
        for corpus in ("ami", "vctk"):
            m = np.array([segs[a]["corpus"] == corpus for a in i])
            per[f"{corpus}_eer_pct"] = round(eer_pct(c, i[m], j[m], t[m]), 3)
            per[f"{corpus}_min_cllr"] = round(cllr_min(c, i[m], j[m], t[m]), 4)
        rows[w] = {
            "pooled_eer_pct": round(eer_pct(c, i, j, t), 3),
            "pooled_min_cllr": round(cllr_min(c, i, j, t), 4),
            **per,
        }
        print(w, rows[w])
    report = {
        "set": {
            "ami_segments": sum(s["corpus"] == "ami" for s in segs),
            "ami_speakers": len({s["speaker"] for s in segs if s["corpus"] == "ami"}),
            "ami_seconds": round(
                sum(s["end"] - s["start"] for s in segs if s["corpus"] == "ami"), 1
            ),
            "vctk_files": sum(s["corpus"] == "vctk" for s in segs),
            "vctk_speakers": len({s["speaker"] for s in segs if s["corpus"] == "vctk"}),
            "trials": int(len(t)),
            "target_trials": int(t.sum()),
            "rule": f"AMI turns >= {MIN_TURN_S} s cut to the longest stretch no other speaker "
            f"overlaps, kept if >= {MIN_CLEAN_S} s; vctk-vc bona fide; all pairs within each corpus",
        },
        "systems": rows,
    }
    if args.bootstrap and len(args.weights) > 1:
        rng = np.random.default_rng(args.seed)
        ref, others = args.weights[0], args.weights[1:]
        better = {w: 0 for w in others}
        diffs = {w: [] for w in others}
        better_cllr = {w: 0 for w in others}
        diffs_cllr = {w: [] for w in others}
        for _ in range(args.bootstrap):
            picks = resample_speakers(segs, rng)
            # relabel copies of one speaker apart, then score all pairs of distinct picks
            view = [{**segs[n], "speaker": f"{segs[n]['speaker']}#{copy}"} for n, copy in picks]
            bi, bj, bt = pooled_trials(view)
            gi, gj = picks[bi, 0], picks[bj, 0]
            same_person = np.array(
                [segs[a]["speaker"] == segs[b]["speaker"] for a, b in zip(gi, gj, strict=True)]
            )
            # two copies of one speaker are neither a target nor a non-target trial
            keep = ~same_person | bt
            keep &= gi != gj  # nor is a segment with itself
            e_ref = eer_pct(cos[ref], gi[keep], gj[keep], bt[keep])
            c_ref = cllr_min(cos[ref], gi[keep], gj[keep], bt[keep])
            for w in others:
                e = eer_pct(cos[w], gi[keep], gj[keep], bt[keep])
                better[w] += e < e_ref
                diffs[w].append(e - e_ref)
                c = cllr_min(cos[w], gi[keep], gj[keep], bt[keep])
                better_cllr[w] += c < c_ref
                diffs_cllr[w].append(c - c_ref)
        report["bootstrap"] = {
            "resamples": args.bootstrap,
            "seed": args.seed,
            "reference": ref,
            **{
                w: {
                    "share_below_reference": better[w] / args.bootstrap,
                    "eer_difference_pct_2.5_50_97.5": [
                        round(float(q), 3) for q in np.percentile(diffs[w], [2.5, 50, 97.5])
                    ],
                    "min_cllr_share_below_reference": better_cllr[w] / args.bootstrap,
                    "min_cllr_difference_2.5_50_97.5": [
                        round(float(q), 4) for q in np.percentile(diffs_cllr[w], [2.5, 50, 97.5])
                    ],
                }
                for w in others
            },
        }
        print(json.dumps(report["bootstrap"], indent=1))
    report["cpu_s"] = round(time.process_time() - c0, 1)
    report["wall_s"] = round(time.time() - t0, 1)
    Path(args.out_json).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
