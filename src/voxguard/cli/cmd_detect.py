"""``voxguard detect FILE...``: is each file bona fide speech or a spoof?

Prints one line per file: the decision, the score it thresholded and its kind (``llr`` when
the model is calibrated, else ``logit difference``), the threshold, then the file
(``--json``: one JSON record with ``file``, ``score``, ``decision_score``, ``score_kind``, plus
``calibrated``, ``threshold``, ``operating_point`` and ``decision`` when a calibration or
threshold is given). The raw score is
``logit[1] - logit[0]`` (higher = bona fide) of the whole file: windows of the model's crop
length cover all of it and the worst window with enough speech decides (``--aggregate``);
``--segments`` adds each window's start, end, score and LLR. ``no_speech`` is the decision for
inputs without speech (silence, noise, tones, music). A file that cannot be read gets a
one-line error on stderr, the other files are still scored, and the exit status is 1.
"""

from __future__ import annotations

import argparse
from typing import Any

from voxguard.cli._common import (
    add_model_args,
    add_runtime_args,
    emit,
    expand_inputs,
    load_detector,
    report_error,
)
from voxguard.cli._files import aggregate, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "detect",
        help="score files with a countermeasure (bona fide vs spoof)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files or directories")
    add_model_args(p, "cm")
    add_runtime_args(p)
    add_window_args(p)
    p.add_argument("--batch-size", type=positive_int, default=None, help="windows per forward pass (default: the bundle's, else 16)")
    p.add_argument("--json", action="store_true", help="one JSON record per file")
    p.add_argument(
        "--segments",
        action="store_true",
        help="also give each window's start/end (s), score, LLR and speech fraction",
    )
    p.set_defaults(func=run)


def add_window_args(p: argparse.ArgumentParser) -> None:
    """``--mode`` and ``--aggregate`` (shared with ``voxguard score``)."""
    p.add_argument(
        "--mode",
        choices=["windows", "crop"],
        default="windows",
        help="windows (default): windows covering the whole input; crop: the first crop only, "
        "tile-repeated (the AASIST eval convention; inputs over 20 s are still windowed)",
    )
    p.add_argument(
        "--aggregate", type=aggregate,
        default="min",
        help="utterance score from the window scores: min (default: the worst window with "
        ">= 50%% speech), mean, or a percentile p<q> such as p10",
    )


def _text_line(det: Any) -> str:
    """Decision, the score it thresholded (with its kind) and the threshold, e.g.
    ``bonafide   llr +1.2345  threshold +0.000``; the raw logit difference follows when the
    decision was on an LLR."""
    value = det.decision_score if det.decision_score is not None else det.score
    line = f"{det.decision or '-':9s}  {det.score_kind or 'logit difference'} {value:+9.4f}"
    if det.threshold is not None:
        line += f"  threshold {det.threshold:+.3f}"
    if det.calibrated is not None:
        line += f"  (raw {det.score:+.4f})"
    return line


def run(args: argparse.Namespace) -> int:
    detector = load_detector(args)
    failed = 0
    for det in detector.score_files(expand_inputs(args.files)):
        if det.error is not None:
            report_error("detect", det.error)
            failed += 1
            continue
        if det.warning:
            report_error("detect", f"{det.file}: warning: {det.warning}")
        if args.json:
            record = {"file": det.file, "score": det.score}
            keys = ("calibrated", "decision", "decision_score", "score_kind", "threshold")
            keys += ("operating_point", "speech_fraction", "speech_s", "warning")
            for key in keys:
                if getattr(det, key) is not None:
                    record[key] = getattr(det, key)
            record["n_windows"] = det.n_windows
            record["aggregate"] = det.aggregate
            if args.segments:
                record["segments"] = det.to_dict()["segments"]
            emit(record)
        else:
            print(f"{_text_line(det)}  {det.file}")
            for seg in (det.segments or []) if args.segments else []:
                llr = f"  llr {seg.llr:+8.4f}" if seg.llr is not None else ""
                mark = "" if seg.used else "  (too little speech: not used)"
                print(
                    f"    {seg.start_s:8.2f}-{seg.end_s:<8.2f} {seg.score:+10.4f}{llr}"
                    f"  speech {seg.speech:.2f}{mark}"
                )
    return 1 if failed else 0
