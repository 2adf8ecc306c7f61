"""SASV evaluation on voxguard-mini: bundled speaker model + official AASIST CM, fused.

Usage (from the repository root)::

    python recipes/sasv_mini/run.py [--weights ../shared/anchors/aasist/AASIST.pth] \
        [--data data/voxguard-mini] [--out runs/sasv_mini] [--threads 2] \
        [--extra-cm NAME=DEV_TSV,EVAL_TSV]

Per split (dev, eval): each speaker is enrolled with its first 3 bona fide utterances (sorted
by utterance id, mean embedding); trials are the speaker's other bona fide utterances (target),
every other speaker's bona fide utterances (nontarget) and the spoofs labelled with the speaker
(spoof). Every utterance is embedded and CM-scored once (cached in ``OUT/cache_{split}.npz``).
CM and ASV affine calibrations are fitted on dev and applied to eval; eval metrics go to
``OUT/results.json`` and ``OUT/results.md``, fused eval scores to ``OUT/sasv_eval_<system>.txt``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from voxguard.data.scorefiles import LabeledScores, read_cm_scores, write_labeled_scores
from voxguard.errors import VoxguardError
from voxguard.evaluation.sasv import sasv_metrics
from voxguard.metrics.det import eer_interp
from voxguard.scoring.fusion import fit_calibrators, log_probability_product, score_sum

PROTOCOL = "ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.{split}.trl.txt"
N_ENROLL = 3
SPEAKER_MODEL = "bccmt_tiny_ge2e_kd"  # the results below were recorded with the retired bccmt_tiny_librispeech
SPLITS = ("dev", "eval")


def read_protocol(root: Path, split: str) -> list[tuple[str, str, str]]:
    """``(speaker, utt, key)`` rows of one voxguard-mini protocol, sorted by speaker then utt."""
    path = root / PROTOCOL.format(split=split)
    if not path.is_file():
        raise VoxguardError(f"{path}: protocol not found; build voxguard-mini (recipes/mini)")
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return sorted((r[0], r[1], r[4]) for r in rows)


def attacks_of(root: Path, split: str) -> dict[str, str]:
    """Attack id (protocol column 4, ``-`` for bona fide) of every utterance of a split."""
    path = root / PROTOCOL.format(split=split)
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return {r[1]: r[3] for r in rows}


def utterance_cache(
    root: Path, split: str, utts: list[str], out: Path, weights: Path, threads: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """CM score and speaker embedding of every utterance, computed once and cached.

    Returns:
        ``(cm_scores (N,), embeddings (N, E), seconds the computation took)``; the seconds are
        kept in the cache, so a cached run reports the time of the run that filled it. The cache
        records the speaker model's sha256: when the bundled model changes, only the embeddings
        are computed again (the CM scores are kept).
    """
    from voxguard.api import SpeakerVerifier, SpoofDetector

    paths = [root / f"ASVspoof2019_LA_{split}" / "flac" / f"{u}.flac" for u in utts]
    asv = SpeakerVerifier.from_pretrained(SPEAKER_MODEL, num_threads=threads)
    asv_sha = str(asv.card.get("sha256", ""))
    cache = out / f"cache_{split}.npz"
    if cache.is_file():
        data = np.load(cache)
        if list(data["utts"]) == utts:
            if "asv_sha256" in data and str(data["asv_sha256"]) == asv_sha:
                return data["cm"], data["emb"], float(data["seconds"])
            # the speaker model changed: embed again, keep the (slow) CM scores
            emb = _embed(asv, paths)
            np.savez(
                cache,
                utts=data["utts"],
                cm=data["cm"],
                emb=emb,
                seconds=data["seconds"],
                asv_sha256=asv_sha,
            )
            return data["cm"], emb, float(data["seconds"])
    start = time.perf_counter()
    emb = _embed(asv, paths)
    det = SpoofDetector.from_pretrained(
        "aasist", weights=weights, backend="onnx", num_threads=threads, batch_size=8,
        mode="crop", aggregate="mean",  # the official first-crop convention of the recorded results
    )
    dets = det.score_files(paths)
    failed = [f"{d.file}: {d.error}" for d in dets if d.error]
    if failed:
        raise VoxguardError("cannot score some utterances: " + "; ".join(failed[:5]))
    cm = np.array([d.score for d in dets], dtype=np.float64)
    seconds = time.perf_counter() - start
    np.savez(cache, utts=np.array(utts), cm=cm, emb=emb, seconds=seconds, asv_sha256=asv_sha)
    return cm, emb, seconds


def _embed(asv: object, paths: list[Path]) -> np.ndarray:
    """Speaker embeddings ``(N, E)`` of ``paths``; any failure stops the recipe."""
    embs = asv.embed_files(paths)  # type: ignore[attr-defined]
    failed = [f"{e.file}: {e.error}" for e in embs if e.error]
    if failed:
        raise VoxguardError("cannot embed some utterances: " + "; ".join(failed[:5]))
    return np.stack([e.embedding for e in embs]).astype(np.float32)


def build_trials(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str, list[str]]]:
    """``(speaker, test utt, label, enrollment utts)`` SASV trials of one split."""
    bona: dict[str, list[str]] = {}
    for spk, utt, key in rows:
        if key == "bonafide":
            bona.setdefault(spk, []).append(utt)
    trials = []
    for spk in sorted(bona):
        enroll = bona[spk][:N_ENROLL]
        for other, utt, key in rows:
            if key == "spoof":
                if other == spk:
                    trials.append((spk, utt, "spoof", enroll))
            elif other == spk:
                if utt not in enroll:
                    trials.append((spk, utt, "target", enroll))
            else:
                trials.append((spk, utt, "nontarget", enroll))
    return trials


def trial_scores(
    trials: list[tuple[str, str, str, list[str]]], utts: list[str], cm: np.ndarray, emb: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """ASV cosine and CM score (of the test utterance) of every trial."""
    index = {u: i for i, u in enumerate(utts)}
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    models: dict[str, np.ndarray] = {}
    asv, cms = [], []
    for spk, utt, _, enroll in trials:
        if spk not in models:
            mean = emb[[index[u] for u in enroll]].mean(axis=0)
            models[spk] = mean / np.linalg.norm(mean)
        asv.append(float(unit[index[utt]] @ models[spk]))
        cms.append(cm[index[utt]])
    return np.array(asv), np.array(cms)


def parse_extra(spec: str) -> tuple[str, dict[str, Path]]:
    """``NAME=DEV_TSV,EVAL_TSV`` into ``(name, {"dev": path, "eval": path})``."""
    name, _, files = spec.partition("=")
    parts = files.split(",")
    if not name or len(parts) != 2:
        raise VoxguardError(f"--extra-cm {spec!r}: expected NAME=DEV_TSV,EVAL_TSV")
    return name, dict(zip(SPLITS, map(Path, parts), strict=True))


def extra_cm_scores(path: Path, utts: list[str]) -> np.ndarray:
    """Scores of ``utts`` from a CM score file (every utterance must be present)."""
    data = read_cm_scores(path)
    lookup = dict(zip(data.ids, data.scores, strict=True))
    missing = [u for u in utts if u not in lookup]
    if missing:
        raise VoxguardError(f"{path}: no score for {len(missing)} utterances (e.g. {missing[0]})")
    return np.array([lookup[u] for u in utts], dtype=np.float64)


def evaluate(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """:func:`sasv_metrics` of one score per trial."""
    return sasv_metrics(
        scores[labels == "target"], scores[labels == "nontarget"], scores[labels == "spoof"]
    )


def spf_eer_by_attack(
    scores: np.ndarray, labels: np.ndarray, attacks: np.ndarray
) -> dict[str, float]:
    """SPF-EER (targets vs the spoofs of one attack) per attack."""
    target = scores[labels == "target"]
    spoof = labels == "spoof"
    return {
        a: eer_interp(target, scores[spoof & (attacks == a)])[0]
        for a in sorted(set(attacks[spoof]))
    }


def main() -> None:
    """Score, calibrate on dev, fuse and evaluate on eval."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="../shared/anchors/aasist/AASIST.pth")
    ap.add_argument("--data", default="data/voxguard-mini")
    ap.add_argument("--out", default="runs/sasv_mini")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--extra-cm", action="append", default=[], metavar="NAME=DEV_TSV,EVAL_TSV")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    root, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    extras = [parse_extra(s) for s in args.extra_cm]
    split_data, compute_s = {}, {}
    for split in SPLITS:
        rows = read_protocol(root, split)
        utts = [u for _, u, _ in rows]
        cm, emb, compute_s[split] = utterance_cache(
            root, split, utts, out, Path(args.weights), args.threads
        )
        trials = build_trials(rows)
        asv, cm_trial = trial_scores(trials, utts, cm, emb)
        cms = {"aasist": (cm, cm_trial)}
        for name, files in extras:
            utt_scores = extra_cm_scores(files[split], utts)
            cms[name] = (utt_scores, trial_scores(trials, utts, utt_scores, emb)[1])
        key = np.array([k for _, _, k in rows])
        split_data[split] = (trials, asv, cms, key)

    dev_trials, dev_asv, dev_cms, dev_key = split_data["dev"]
    ev_trials, ev_asv, ev_cms, _ = split_data["eval"]
    dev_lab = np.array([t[2] for t in dev_trials])
    ev_lab = np.array([t[2] for t in ev_trials])
    sv = dev_lab != "spoof"
    results: dict[str, dict[str, float]] = {}
    dev_results: dict[str, dict[str, float]] = {}  # single systems on dev, for context
    by_attack: dict[str, dict[str, float]] = {}
    attack_map = attacks_of(root, "eval")
    ev_attack = np.array([attack_map[t[1]] for t in ev_trials])
    calibrations = {}
    for name in dev_cms:
        asv_cal, cm_cal = fit_calibrators(
            dev_asv[sv], dev_lab[sv] == "target", dev_cms[name][0], dev_key == "bonafide"
        )
        calibrations[name] = {"asv": asv_cal.to_dict(), "cm": cm_cal.to_dict()}
        llr_asv = asv_cal.transform(ev_asv)
        llr_cm = cm_cal.transform(ev_cms[name][1])
        systems = {
            f"CM alone ({name})": llr_cm,
            f"score sum ({name})": score_sum(llr_asv, llr_cm),
            f"probability product ({name})": log_probability_product(llr_asv, llr_cm),
            f"cascade ({name})": np.minimum(llr_asv, llr_cm),
        }
        if not results:
            results["ASV alone"] = evaluate(llr_asv, ev_lab)
            dev_results["ASV alone"] = evaluate(dev_asv, dev_lab)
        dev_results[f"CM alone ({name})"] = evaluate(dev_cms[name][1], dev_lab)
        if not by_attack:
            by_attack["ASV alone"] = spf_eer_by_attack(llr_asv, ev_lab, ev_attack)
        for system, fused in systems.items():
            results[system] = evaluate(fused, ev_lab)
            by_attack[system] = spf_eer_by_attack(fused, ev_lab, ev_attack)
        sasv_file = out / f"sasv_eval_sum_{name}.txt"
        write_labeled_scores(
            sasv_file,
            LabeledScores(
                [t[0] for t in ev_trials],
                [t[1] for t in ev_trials],
                systems[f"score sum ({name})"],
                list(ev_lab),
            ),
        )
    wall = time.perf_counter() - t0
    counts = {lab: int((ev_lab == lab).sum()) for lab in ("target", "nontarget", "spoof")}
    report = {
        "eval_trials": counts,
        "dev_trials": {
            lab: int((dev_lab == lab).sum()) for lab in ("target", "nontarget", "spoof")
        },
        "calibrations": calibrations,
        "results": results,
        "dev_results": dev_results,
        "spf_eer_by_attack": by_attack,
        "compute_s": {k: round(v, 1) for k, v in compute_s.items()},
        "wall_s_this_run": round(wall, 1),
        "threads": args.threads,
    }
    (out / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    head = "| system | min a-DCF | min a-DCF (ASVspoof 5) | SASV-EER % | SV-EER % | SPF-EER % |"
    lines = [head, "|---|---|---|---|---|---|"]
    for system, m in results.items():
        lines.append(
            f"| {system} | {m['min_a_dcf']:.4f} | {m['min_a_dcf_asvspoof5']:.4f} | "
            f"{100 * m['sasv_eer']:.2f} | {100 * m['sv_eer']:.2f} | {100 * m['spf_eer']:.2f} |"
        )
    attacks = sorted(next(iter(by_attack.values())))
    lines += ["", "SPF-EER % per eval attack:", "", "| system | " + " | ".join(attacks) + " |"]
    lines.append("|---|" + "---|" * len(attacks))
    for system, per in by_attack.items():
        lines.append(f"| {system} | " + " | ".join(f"{100 * per[a]:.2f}" for a in attacks) + " |")
    table = "\n".join(lines)
    (out / "results.md").write_text(table + "\n")
    print(f"eval trials: {counts}")
    print(table)
    for system, m in dev_results.items():
        print(f"dev {system}: SV-EER {100 * m['sv_eer']:.2f} %  SPF-EER {100 * m['spf_eer']:.2f} %")
    print(f"wall {wall:.1f} s this run; utterance scoring (cached) {report['compute_s']} s")


if __name__ == "__main__":
    main()
