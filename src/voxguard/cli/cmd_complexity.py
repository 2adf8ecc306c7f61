"""``voxguard complexity MODEL``: params, MACs per component and (optionally) CPU latency.

MACs are torch ``FlopCounterMode`` FLOPs / 2, completed with the CPU attention kernel and
analytic LSTM/GRU counts (see docs/complexity.md). MODEL is a registered name (random weights:
complexity does not depend on them), a bundled weights name (``voxguard models``) or a weights
directory. A waveform model is measured on its own crop (the card's ``crop_samples`` or the
config's ``nb_samp``) unless ``--seconds`` is given.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from voxguard.cli._files import nonnegative_int, positive_float, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "complexity",
        help="params, MACs and CPU latency of a model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "model", help="registered model name, bundled weights name or weights directory"
    )
    length = p.add_mutually_exclusive_group()
    length.add_argument(
        "--seconds",
        type=positive_float,
        help="input duration (default: 64,600 samples = 4.04 s for waveform models, "
        "201 frames for feature models, which convert seconds at 50 frames/s)",
    )
    length.add_argument("--frames", type=positive_int, help="input frames, for feature-input models")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--latency", action="store_true", help="also measure CPU latency")
    p.add_argument("--threads", type=positive_int, help="torch intra-op threads for --latency")
    p.add_argument("--repeats", type=positive_int, default=10, help="timed runs for --latency (median)")
    p.add_argument("--warmup", type=nonnegative_int, default=2, help="untimed runs before timing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import voxguard
    from voxguard.api._load import bundled_dirs
    from voxguard.profiling import complexity, format_complexity

    if Path(args.model).is_dir() or args.model in bundled_dirs():
        model = voxguard.load_pretrained(args.model)
    else:
        model = voxguard.create_model(args.model)
    seconds = args.seconds
    if seconds is None and args.frames is None:
        seconds = _crop_seconds(model)
    report = complexity(
        model,
        seconds=seconds,
        frames=args.frames,
        latency=args.latency,
        threads=args.threads,
        repeats=args.repeats,
        warmup=args.warmup,
    )
    print(json.dumps(report, indent=2) if args.json else format_complexity(report))
    return 0


def _crop_seconds(model: Any) -> float | None:
    """The model's own crop in seconds (waveform models with a card or config crop), else None."""
    from voxguard.profiling.inputs import input_spec

    spec = input_spec(model)
    if spec.kind != "waveform":
        return None
    card = getattr(model, "card", None) or {}
    crop = card.get("crop_samples") or getattr(getattr(model, "config", None), "nb_samp", None)
    return int(crop) / spec.sample_rate if isinstance(crop, int) and crop > 0 else None
