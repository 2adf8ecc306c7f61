"""``voxguard bench``: latency and throughput of a model through the Python API.

For each backend and thread count: the median latency of one input of each ``--seconds``
length (batch 1) and the throughput in inputs/second at ``--batch-size``. Inputs are generated
speech-like signals; a CM scores its usual crop (so latency is flat above 4.04 s), a speaker
model embeds the whole signal. ``--json`` prints one record per row.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from voxguard.cli._common import add_model_args, emit
from voxguard.cli._files import positive_float, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="latency / throughput table of a model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--task", choices=["cm", "spk"], default="cm", help="countermeasure or speaker model"
    )
    add_model_args(p, "cm")
    p.add_argument("--random-init", action="store_true", help="allow an untrained registered model")
    p.add_argument("--backend", nargs="+", choices=["torch", "onnx"], default=["torch"])
    p.add_argument(
        "--threads", nargs="+", type=positive_int, default=[1], help="intra-op thread counts"
    )
    p.add_argument(
        "--seconds", nargs="+", type=positive_float, default=[1.0, 4.0, 10.0], help="input lengths"
    )
    p.add_argument(
        "--batch-size", type=positive_int, default=8, help="batch of the throughput test"
    )
    p.add_argument(
        "--repeats", type=positive_int, default=5, help="timed repetitions (after one warm-up)"
    )
    p.add_argument("--json", action="store_true", help="one JSON record per row")
    p.set_defaults(func=run)


def _time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` in seconds, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _load(args: argparse.Namespace, backend: str, threads: int) -> object:
    from voxguard.api import SpeakerVerifier, SpoofDetector

    cls = SpoofDetector if args.task == "cm" else SpeakerVerifier
    kwargs = {"batch_size": args.batch_size} if args.task == "cm" else {}
    return cls.from_pretrained(
        args.model,
        weights=args.weights,
        backend=backend,
        num_threads=threads,
        random_init=args.random_init,
        **kwargs,
    )


def _measure(model: object, args: argparse.Namespace, x: np.ndarray) -> tuple[float, float]:
    """(median batch-1 latency in s, inputs/s at ``--batch-size``) of one input length."""
    if args.task == "cm":
        call = model.score_arrays  # type: ignore[attr-defined]
    else:

        def call(xs: list[np.ndarray]) -> list[np.ndarray]:
            return [model.embed_array(v) for v in xs]  # type: ignore[attr-defined]

    latency = _time(lambda: call([x]), args.repeats)
    batch = [x] * args.batch_size
    per_batch = _time(lambda: call(batch), max(1, args.repeats // 2))
    return latency, args.batch_size / per_batch


def run(args: argparse.Namespace) -> int:
    import torch

    from voxguard.testing.audio import synthetic_speech

    rows = []
    for backend in args.backend:
        for threads in args.threads:
            torch.set_num_threads(threads)
            model = _load(args, backend, threads)
            for seconds in args.seconds:
                latency, throughput = _measure(
                    model, args, synthetic_speech(seconds, 16000, seed=1)
                )
                rows.append(
                    {
                        "model": model.name,
                        "backend": backend,
                        "threads": threads,
                        "seconds": seconds,
                        "latency_ms": 1000 * latency,
                        "throughput_per_s": throughput,
                    }
                )
    if args.json:
        for row in rows:
            emit(row)
        return 0
    w = max([5] + [len(r["model"]) for r in rows])
    print(
        f"{'model':{w}s} {'backend':8s} {'threads':>7s} {'input s':>8s} {'latency ms':>11s} {'inputs/s':>9s}"
    )
    for r in rows:
        print(
            f"{r['model']:{w}s} {r['backend']:8s} {r['threads']:7d} {r['seconds']:8.2f} "
            f"{r['latency_ms']:11.2f} {r['throughput_per_s']:9.2f}"
        )
    return 0
