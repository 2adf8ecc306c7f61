"""Assemble the voxguard-mini Whisper tiny.en results: CSV for ``voxguard select`` + tables.

Usage (from the repository root, after ``train_backends.py``, ``whisper_complexity.py`` and
``score_aasist.py``)::

    python recipes/mini/collect_results.py [--runs runs/mini_whisper] \
        [--keys data/voxguard-mini/ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.eval.trl.txt]

Writes ``<runs>/results.csv`` (one row per system: eval EER in %, minDCF, actDCF, Cllr and the
whole-system params / MACs / per-file CPU latency, front-end included) and
``<runs>/selection.json`` (:func:`voxguard.evaluation.selection.select_csv`, default weights),
and prints Markdown tables (overall, per attack, per codec, selection ranking).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

from voxguard.evaluation.breakdown import breakdown
from voxguard.evaluation.cm import evaluate_cm_files
from voxguard.evaluation.selection import select_csv

LABELS = {
    "base": "SpAArSIST base (learned scoring + attention)",
    "mag": "SpAArSIST magnitude-only",
    "mean": "SpAArSIST mean-only",
    "rank1": "SpAArSIST rank-1 (magnitude + mean, k 0.3/0.1)",
}


def _systems(runs: Path) -> list[tuple[str, dict[str, Any]]]:
    """``(name, metrics.json)`` of every trained variant and k_infer sweep point found."""
    found = []
    for name in ("base", "mag", "mean", "rank1"):
        if (runs / name / "metrics.json").is_file():
            found.append((name, json.loads((runs / name / "metrics.json").read_text())))
    for path in sorted(runs.glob("*_kinfer*/metrics.json")):
        found.append((path.parent.name, json.loads(path.read_text())))
    return found


def _aasist(runs: Path, keys: Path) -> dict[str, Any] | None:
    scores = runs / "aasist_official" / "scores_eval.tsv"
    if not scores.is_file():
        return None
    metrics, joined = evaluate_cm_files(scores, keys)
    metrics["by_attack"] = breakdown(joined.scores, joined.labels, joined.attacks, by="attack")
    metrics["by_codec"] = breakdown(joined.scores, joined.labels, joined.conditions, by="condition")
    return {"eval": metrics}


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}"


def main() -> None:
    """Write results.csv / selection.json and print the Markdown tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="runs/mini_whisper")
    ap.add_argument(
        "--keys",
        default="data/voxguard-mini/ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.eval.trl.txt",
    )
    args = ap.parse_args()
    runs = Path(args.runs)
    comp = json.loads((runs / "complexity.json").read_text())
    fe = comp["frontend"]
    systems = _systems(runs)
    ref = _aasist(runs, Path(args.keys))
    if ref is not None:
        systems.append(("aasist_official", ref))
    rows, table = [], []
    for name, m in systems:
        whisper = name != "aasist_official"
        ev, c = m["eval"], comp.get(name if whisper else "aasist", {})
        params = c.get("params_total")
        macs = c.get("macs")
        lat = c.get("latency_file_ms") if whisper else c.get("latency_ms")
        if whisper and params is not None:
            params, macs = params + fe["params"], macs + fe["macs"]
        rows.append(
            {
                "name": name,
                "eer_%": round(100 * ev["eer"], 3),
                "minDCF": round(ev["min_dcf"], 4),
                "actDCF": round(ev["act_dcf"], 4),
                "Cllr": round(ev["cllr"], 4),
                "params": params,
                "MACs": macs,
                "latency_ms": lat,
            }
        )
        dev = m.get("dev")
        table.append(
            f"| {name} | {_pct(ev['eer'])} | {ev['min_dcf']:.3f} | {ev['act_dcf']:.3f} | "
            f"{ev['cllr']:.3f} | {_pct(dev['eer']) if dev else 'not scored'} | "
            f"{c.get('params', 'n/a')} | {c.get('macs', 0) / 1e6:.1f} | {lat} |"
        )
    with open(runs / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    sel = select_csv(runs / "results.csv")
    (runs / "selection.json").write_text(json.dumps(sel.to_dict(), indent=2) + "\n")
    print(
        "| system | eval EER % | minDCF | actDCF | Cllr | dev EER % (seen) | params | MMACs | ms/file |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(table))
    for key, title in (("by_attack", "attack"), ("by_codec", "codec")):
        groups = [r["group"] for r in systems[0][1]["eval"][key]]
        print("\n| system | " + " | ".join(groups) + " |")
        print("|---|" + "---|" * len(groups))
        for name, m in systems:
            cells = {r["group"]: _pct(r["eer"]) for r in m["eval"][key]}
            print(f"| {name} | " + " | ".join(cells.get(g, "n/a") for g in groups) + " |")
        print(f"(EER % per {title})")
    print("\n| rank | system | score | accuracy cost | compute cost | Pareto |")
    print("|---|---|---|---|---|---|")
    for r in sel.rows:
        print(
            f"| {r['rank']} | {r['name']} | {r['score']:.3f} | {r['accuracy_cost']:.3f} | "
            f"{r['compute_cost']:.3f} | {'yes' if r['pareto'] else ''} |"
        )
    print(f"\nfront-end: {fe}; weights {sel.weights}; missing {sel.missing}")


if __name__ == "__main__":
    main()
