"""``voxguard embed FILE...``: speaker embeddings of audio files.

``--output x.npz`` writes an array per file (keys are the file paths); ``--json`` prints one
record per file with ``file``, ``dim`` and ``embedding``. Files that fail get a one-line error on
stderr and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from voxguard.cli._common import (
    add_model_args,
    add_progress_arg,
    add_runtime_args,
    emit,
    expand_inputs,
    load_verifier,
    progress_bar,
    report_error,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "embed",
        help="speaker embeddings of audio files",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files or directories")
    add_model_args(p, "spk")
    add_runtime_args(p)
    p.add_argument("--output", "-o", default=None, help="write all embeddings to this .npz file")
    p.add_argument("--json", action="store_true", help="one JSON record per file")
    add_progress_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from voxguard.api.verifier import no_speech_problem

    if args.output:
        from voxguard.cli._files import output_file

        output_file(args.output, "embeddings file")
    verifier = load_verifier(args)
    failed, arrays = 0, {}
    paths = expand_inputs(args.files)
    with progress_bar(args, len(paths)) as bar:
        results = verifier.embed_files(paths, bar.update, vad=True)
    for res in results:
        if res.error is not None:
            report_error("embed", res.error)
            failed += 1
            continue
        arrays[res.file] = res.embedding
        speech = res.speech_fraction
        if speech is not None and no_speech_problem(speech):  # embedded, but flagged
            print(
                f"voxguard embed: warning: {res.file}: {100 * speech:.0f} % speech; its "
                "embedding says little about a speaker (enrollment refuses such input)",
                file=sys.stderr,
            )
        if args.json:
            emit(
                {
                    "file": res.file,
                    "dim": int(res.embedding.size),
                    "speech_fraction": None if speech is None else round(speech, 4),
                    "embedding": res.embedding.tolist(),
                }
            )
        elif not args.output:
            norm = float(np.linalg.norm(res.embedding))
            print(f"dim {res.embedding.size:4d}  norm {norm:8.3f}  {res.file}")
    if args.output:
        np.savez(args.output, **arrays)
        if not args.json:
            print(f"wrote {len(arrays)} embeddings to {args.output}")
    return 1 if failed else 0
