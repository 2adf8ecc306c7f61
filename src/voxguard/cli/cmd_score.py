"""``voxguard score SOURCE --output scores.tsv``: score a list of files into a score file.

SOURCE is a directory (its audio files, recursively) or a list file (one path per line, relative
to the list file). The output is a standard score file (default: ASVspoof 5 TSV with the header
``filename  cm-score``; filename = the file's stem, or its path with ``--keep-path`` or when
stems repeat). When the model has a calibration (``--calibration``, or the ``calibration.json``
of a bundled model) the score column holds calibrated LLRs; ``--raw`` writes the raw
``logit[1] - logit[0]`` instead (e.g. to fit a calibration of your own). Files that could
not be scored are listed last with score ``nan`` and an ``error=<message>`` column (the exit
status is then 1). Files are scored in batches, with a progress bar, in this process, in
``--workers N`` local processes with one thread each, or as Ray tasks (``--executor ray``); the
output is the same, in the same order, whichever is used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from voxguard.cli._common import add_model_args, add_runtime_args, report_error, start_up
from voxguard.cli._files import positive_int
from voxguard.cli.cmd_detect import add_window_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="score a directory or list file into a score file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", help="directory of audio files, or a list file of paths")
    p.add_argument("--output", "-o", required=True, help="score file to write (TSV)")
    add_model_args(p, "cm")
    add_runtime_args(p)
    add_window_args(p)
    p.add_argument("--batch-size", type=positive_int, default=None, help="windows per forward pass (default: the bundle's, else 16)")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="local processes, one thread each (same scores and order as --workers 1)",
    )
    p.add_argument("--executor", choices=["local", "ray"], default="local", help="where to run")
    p.add_argument("--num-cpus", type=positive_int, default=None, help="CPUs of a local Ray instance")
    p.add_argument(
        "--chunk-size",
        type=positive_int,
        default=None,
        help="files per task (default: 16 for --workers, 64 for Ray)",
    )
    p.add_argument(
        "--keep-path",
        action="store_true",
        help="write paths instead of file stems (automatic when stems repeat)",
    )
    p.add_argument(
        "--format",
        choices=["asvspoof5", "asvspoof2021"],
        default="asvspoof5",
        help="score-file layout (default: ASVspoof 5 TSV with header)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument(
        "--raw",
        action="store_true",
        help="write raw scores (logit[1] - logit[0]) even when the model has a calibration",
    )
    p.set_defaults(func=run)


def detector_spec(args: argparse.Namespace) -> dict:
    """``SpoofDetector.from_pretrained`` arguments from the command line."""
    return {
        "name_or_dir": args.model,
        "weights": args.weights,
        "backend": args.backend,
        "calibration": args.calibration,
        "threshold": args.threshold,
        "device": args.device,
        "batch_size": args.batch_size,
        "mode": args.mode,
        "aggregate": args.aggregate,
        "num_threads": args.threads,
        "random_init": args.random_init,
    }


def build_detector(**spec: Any) -> Any:
    """``SpoofDetector.from_pretrained(**spec)`` during :func:`~voxguard.cli._common.start_up`
    (in this process with ``--workers 1``, else in each worker; pickled by reference)."""
    with start_up():
        from voxguard.api import SpoofDetector

        return SpoofDetector.from_pretrained(**spec)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from voxguard.cli._files import output_file
    from voxguard.data.scorefiles import write_cm_scores
    from voxguard.inference.executors import score_files

    output_file(args.output, "score file")
    paths = _inputs(args.source)
    options: dict = {}
    if args.executor == "ray":
        options = {"num_cpus": args.num_cpus, "chunk_size": args.chunk_size or 64}
    elif args.workers > 1:
        options = {"workers": args.workers, "chunk_size": args.chunk_size or 16}
    with tqdm(total=len(paths), unit="file", disable=args.quiet, file=sys.stderr) as bar:
        results = score_files(
            build_detector,
            detector_spec(args),
            paths,
            args.executor,
            bar.update,
            **options,
        )
    ids = _ids(results, args.keep_path)
    use_llr = not getattr(args, "raw", False) and any(r.calibrated is not None for r in results)
    ok = [(i, r) for i, r in zip(ids, results, strict=True) if r.error is None]
    errors = {i: r.error for i, r in zip(ids, results, strict=True) if r.error is not None}
    for r in results:
        if r.error is not None:
            report_error("score", r.error)
    write_cm_scores(
        args.output,
        [i for i, _ in ok],
        [r.calibrated if use_llr else r.score for _, r in ok],
        args.format,
        errors,
    )
    print(
        f"scored {len(ok)} of {len(results)} files -> {args.output}"
        + (" (calibrated LLRs; --raw for raw scores)" if use_llr else " (raw scores)")
        + (f"; {len(errors)} failed, see their error= column" if errors else "")
    )
    return 1 if errors else 0


def _inputs(source: str) -> list[str]:
    """The files to score; an empty or unreadable source is an error, not an empty score file.

    A dangling symbolic link in a folder is reported (a warning) rather than silently skipped.
    """
    from voxguard.cli._files import input_file
    from voxguard.errors import VoxguardError
    from voxguard.inference.executors import AUDIO_EXTENSIONS, resolve_inputs

    root = Path(source)
    if root.is_dir():
        for link in sorted(root.rglob("*")):
            if link.is_symlink() and not link.exists() and link.suffix.lower() in AUDIO_EXTENSIONS:
                report_error("score", f"{link}: dangling symbolic link (target missing), skipped")
    else:
        input_file(root, "list")
    try:
        paths = resolve_inputs(source)
    except UnicodeDecodeError:
        raise VoxguardError(
            f"{source}: not UTF-8 text (a binary file?); pass a folder of audio files or a "
            "list file with one path per line"
        ) from None
    if not paths:
        what = (
            "no audio files (" + ", ".join(AUDIO_EXTENSIONS) + ") under"
            if root.is_dir()
            else ("no paths listed in")
        )
        raise VoxguardError(f"{source}: {what} it; nothing to score")
    return paths


def _ids(results: list, keep_path: bool) -> list[str]:
    """File stems as utterance ids (ASVspoof style), or the paths when stems are not unique."""
    stems = [Path(r.file).stem for r in results]
    if keep_path or len(set(stems)) < len(stems):
        return [r.file for r in results]
    return stems
