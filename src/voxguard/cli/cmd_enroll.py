"""``voxguard enroll FILE... --output SPEAKER.npy``: enroll a speaker.

The enrollment is the mean of the files' speaker embeddings, saved as ``.npy`` (or ``.json``
with the model name and the file list). If any file cannot be read, each is reported on stderr,
nothing is written and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys

from voxguard.cli._common import (
    add_model_args,
    add_progress_arg,
    add_runtime_args,
    expand_inputs,
    load_verifier,
    progress_bar,
    report_error,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "enroll",
        help="enroll a speaker from several files (mean embedding)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="enrollment audio files or directories")
    p.add_argument("--output", "-o", required=True, help="enrollment file to write (.npy or .json)")
    add_model_args(p, "spk")
    add_runtime_args(p)
    add_progress_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from voxguard.api import save_embedding
    from voxguard.api.verifier import check_embedding, check_embedding_path, no_speech_problem
    from voxguard.cli._files import output_file

    check_embedding_path(args.output)  # before minutes of work, as every output
    output_file(args.output, "enrollment file")  # an existing, writable folder (as score's)
    verifier = load_verifier(args)
    files = expand_inputs(args.files)
    with progress_bar(args, len(files)) as bar:
        results = verifier.embed_files(files, bar.update, vad=True)
    for r in results:  # a voice login fails closed: no enrollment from silence or noise
        if r.error is None and r.speech_fraction is not None:
            problem = no_speech_problem(r.speech_fraction)
            if problem:
                r.error = f"{r.file}: {problem}"
    bad = [r for r in results if r.error is not None]
    for r in bad:
        report_error("enroll", r.error or "")
    if bad or not results:
        print(
            f"voxguard enroll: nothing written: {len(bad)} of {len(results)} files failed",
            file=sys.stderr,
        )
        return 1
    enrollment = np.mean(np.stack([r.embedding for r in results]), axis=0).astype(np.float32)
    check_embedding(enrollment, "the enrollment")
    op = verifier.operating_point.describe()
    meta = {"model": verifier.name, "files": files, "operating_point_at_enrollment": op}
    path = save_embedding(args.output, enrollment, meta)
    print(f"enrolled {len(files)} files with {verifier.name} -> {path} (dim {enrollment.size})")
    print(f"verification will decide at: {op} (change with `voxguard verify --far/--threshold`)")
    return 0
