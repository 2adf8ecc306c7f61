"""Score file lists in this process, in several local processes, or on a Ray cluster.

All executors take a *builder* and a *spec*: ``build(**spec)`` makes a detector (any object
with ``score_files(paths, progress)``; the CLI passes
:meth:`voxguard.api.SpoofDetector.from_pretrained` and its keyword arguments). Each worker
process builds its own detector once (models are not pickled between processes, ``build`` is
pickled by reference), and every executor returns one :class:`~voxguard.inference.results.Detection`
per input path, in order, with per-file errors captured. This module never imports
:mod:`voxguard.api`: the API sits above inference, and the caller names the builder.

Parallelism is over processes with one intra-op thread each (``workers``): on a shared CPU two
threads in one process were slower than one, while processes scale. Memory stays bounded: a
worker holds one chunk of files at a time and at most ``2 * workers`` chunks are in flight.
"""

from __future__ import annotations

import gc
import json
import os
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from voxguard.errors import ParseError, VoxguardError
from voxguard.inference.results import Detection

#: ``build(**spec)`` returns a detector: an object with ``score_files(paths, progress)``.
Builder = Callable[..., Any]

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3")
_WORKER_CACHE: dict[str, Any] = {}
_IN_WORKER = False  # set in worker processes by :func:`_single_threaded`


def list_audio(directory: str | os.PathLike) -> list[str]:
    """Audio files under ``directory`` (recursive, sorted)."""
    root = Path(directory)
    if not root.is_dir():
        raise VoxguardError(f"{root}: not a directory")
    return sorted(
        str(p) for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file()
    )


def read_list(path: str | os.PathLike) -> list[str]:
    """Paths from a list file: one per line (first column), ``#`` comments and blanks skipped.

    Relative paths are resolved against the list file's folder.
    """
    path = Path(path)
    if not path.is_file():
        raise VoxguardError(f"{path}: list file not found")
    out = []
    for no, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        item = line.split()[0]
        if "\x00" in item:
            raise ParseError(path, no, "binary content; expected one audio path per line")
        p = Path(item)
        out.append(str(p if p.is_absolute() else path.parent / p))
    return out


def resolve_inputs(source: str | os.PathLike) -> list[str]:
    """A directory's audio files, or the paths listed in a list file."""
    return list_audio(source) if Path(source).is_dir() else read_list(source)


def _detector(build: Builder, spec: dict[str, Any]) -> Any:
    """Build (once per process) the detector ``build(**spec)``."""
    name = f"{getattr(build, '__module__', '')}.{getattr(build, '__qualname__', repr(build))}"
    key = name + json.dumps(spec, sort_keys=True, default=str)
    if key not in _WORKER_CACHE:
        try:
            _WORKER_CACHE[key] = build(**spec)
        finally:
            if _IN_WORKER:  # start-up done: freeze what it loaded, collect from here on
                gc.freeze()
                gc.enable()
    return _WORKER_CACHE[key]


def score_chunk(build: Builder, spec: dict[str, Any], paths: Sequence[str]) -> list[Detection]:
    """Score ``paths`` with the detector ``build(**spec)`` in this process."""
    return _detector(build, spec).score_files(list(paths))


def score_local(
    build: Builder,
    spec: dict[str, Any],
    paths: Sequence[str],
    progress: Callable[[int], None] | None = None,
) -> list[Detection]:
    """Score files in this process (batched by the detector)."""
    return _detector(build, spec).score_files(list(paths), progress)


def _single_threaded() -> None:
    """Worker initialiser: one intra-op thread (set before torch or onnxruntime start), and
    the garbage collector paused until the detector is built (importing torch and building the
    model create ~1 M long-lived objects that the collector would walk again and again: 0.3-0.6 s
    of CPU per worker start); :func:`_detector` freezes them and turns the collector back on."""
    global _IN_WORKER
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"
    _IN_WORKER = True
    gc.disable()


def plan_chunks(n: int, workers: int, chunk_size: int) -> list[int]:
    """Chunk sizes for ``n`` files over ``workers`` processes: ``chunk_size`` while much work
    remains, then shrinking to ``remaining / (2 * workers)`` (guided self-scheduling), so the
    workers finish together instead of one scoring a last full chunk alone (with 200 files in
    chunks of 16, one of two workers got 7 chunks and the other 6, 12 % of the run one-sided)."""
    sizes, remaining = [], n
    while remaining > 0:
        size = max(1, min(chunk_size, -(-remaining // (2 * workers))))
        sizes.append(size)
        remaining -= size
    return sizes


def score_processes(
    build: Builder,
    spec: dict[str, Any],
    paths: Sequence[str],
    workers: int,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = 16,
) -> list[Detection]:
    """Score files in ``workers`` local processes with one thread each, results in input order.

    Args:
        build: makes the detector from ``spec`` (a module-level callable or a classmethod such
            as ``SpoofDetector.from_pretrained``: it is pickled by reference).
        spec: ``build`` keyword arguments; ``num_threads`` defaults to 1 in the workers.
        paths: audio files.
        workers: number of processes (1 scores in this process).
        progress: called with the number of files in each finished chunk.
        chunk_size: files per task at most (a worker scores a chunk in batches of
            ``batch_size``); the last chunks are smaller (:func:`plan_chunks`).
    """
    if workers < 1:
        raise ValueError("workers must be >= 1")
    spec = {**spec, "num_threads": spec.get("num_threads") or 1}
    if workers == 1 or len(paths) <= chunk_size:
        return score_local(build, spec, paths, progress)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    chunks, first = [], 0
    for size in plan_chunks(len(paths), workers, chunk_size):
        chunks.append(list(paths[first : first + size]))
        first += size
    results: list[Detection] = []
    context = multiprocessing.get_context("spawn")  # no forked torch / onnxruntime thread pools
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_single_threaded) as pool:
        pending: deque = deque()
        queue = iter(chunks)
        for chunk in queue:
            pending.append((len(chunk), pool.submit(score_chunk, build, spec, chunk)))
            if len(pending) >= 2 * workers:
                break
        while pending:
            size, future = pending.popleft()
            results.extend(future.result())  # in order: the oldest chunk first
            if progress:
                progress(size)
            chunk = next(queue, None)
            if chunk is not None:
                pending.append((len(chunk), pool.submit(score_chunk, build, spec, chunk)))
    return results


def score_ray(
    build: Builder,
    spec: dict[str, Any],
    paths: Sequence[str],
    progress: Callable[[int], None] | None = None,
    chunk_size: int = 64,
    num_cpus: int | None = None,
    address: str | None = None,
) -> list[Detection]:
    """Score files as Ray tasks of ``chunk_size`` files; starts a local Ray if none is running.

    Args:
        build: makes the detector from ``spec`` (sent to the workers).
        spec: ``build`` keyword arguments (paths must be visible to the workers).
        paths: audio files (visible to the workers).
        progress: called with the number of files in each finished chunk.
        chunk_size: files per task.
        num_cpus: CPUs of a local Ray instance started here.
        address: an existing Ray cluster (``auto`` or ``ray://host:port``).
    """
    try:
        import ray
    except ImportError:
        raise VoxguardError("--executor ray needs Ray: pip install 'voxguard[dist]'") from None
    if not ray.is_initialized():
        ray.init(address=address, num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    task = ray.remote(num_cpus=1)(score_chunk)
    spec = {**spec, "num_threads": spec.get("num_threads") or 1}  # one CPU per task
    chunks = [list(paths[i : i + chunk_size]) for i in range(0, len(paths), chunk_size)]
    refs = {task.remote(build, spec, chunk): i for i, chunk in enumerate(chunks)}
    done: dict[int, list[Detection]] = {}
    pending = list(refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        i = refs[ready[0]]
        done[i] = ray.get(ready[0])
        if progress:
            progress(len(chunks[i]))
    return [det for i in range(len(chunks)) for det in done[i]]


def score_files(
    build: Builder,
    spec: dict[str, Any],
    paths: Sequence[str],
    executor: str = "local",
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
    **options: Any,
) -> list[Detection]:
    """Score ``paths`` with detectors ``build(**spec)``, locally (``workers`` processes) or on Ray.

    Example:
        >>> from voxguard.api import SpoofDetector
        >>> spec = {"name_or_dir": "debug_cm", "random_init": True}
        >>> score_files(SpoofDetector.from_pretrained, spec, paths, workers=2)  # doctest: +SKIP
    """
    if executor == "local":
        if workers > 1:
            return score_processes(build, spec, paths, workers, progress, **options)
        return score_local(build, spec, paths, progress)
    if executor == "ray":
        return score_ray(build, spec, paths, progress, **options)
    raise ValueError(f"executor must be 'local' or 'ray', got {executor!r}")
