"""File hashing for tamper checks (no torch import: the ONNX backend uses it too).

- :func:`sha256_of` hashes a file in chunks.
- :func:`check_files` verifies a ``{relative name: sha256}`` map and raises on any mismatch.
- :func:`check_bundle_file` verifies one file of a bundle without building the model.
- ONNX exports carry a sidecar ``<file>.onnx.sha256`` written by voxguard when it exports;
  :func:`sidecar_ok` tells whether a cached export still matches it (if not, it is re-exported).

**Verified-hash memo.** Hashing the default CM's files (the 75 MB Whisper ``model.bin`` above
all) cost 0.1-0.2 s of CPU at every start. :func:`file_sha256` remembers each hash it computed
in ``$VOXGUARD_CACHE/hashes.json`` (default ``~/.cache/voxguard``) with the file's identity:
device, inode, size, modification and status-change times (``st_ctime`` cannot be set back by
a user: any write or ``utime`` moves it). A file whose identity is unchanged is not re-read; any
change re-hashes it. As in Git's "racy" rule, a hash is only remembered for a file last changed
more than :data:`SETTLE_S` seconds before, so that a rewrite within the file system's timestamp
granularity cannot go unseen. ``VOXGUARD_REHASH=1`` ignores the memo.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from voxguard.errors import WeightsError

SIDECAR_SUFFIX = ".sha256"
#: Files changed less than this many seconds ago are hashed every time (never memoised).
SETTLE_S = 2.0


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _memo_path() -> Path:
    root = os.environ.get("VOXGUARD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "voxguard"
    )
    return Path(root) / "hashes.json"


def _identity(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _read_memo(path: Path) -> dict:
    try:
        memo = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


def file_sha256(path: str | Path) -> str:
    """:func:`sha256_of`, remembered while the file's identity is unchanged (see the module
    docstring): a second start does not re-read unchanged weights."""
    path = Path(path).resolve()
    st = path.stat()
    memo_path = _memo_path()
    use_memo = os.environ.get("VOXGUARD_REHASH", "") in ("", "0")
    memo = _read_memo(memo_path) if use_memo else {}
    entry = memo.get(str(path))
    if isinstance(entry, dict) and entry.get("id") == _identity(st):
        digest = entry.get("sha256")
        if isinstance(digest, str) and len(digest) == 64:
            return digest
    digest = sha256_of(path)
    settled = time.time() - max(st.st_mtime, st.st_ctime) > SETTLE_S
    if use_memo and settled and _identity(path.stat()) == _identity(st):
        memo[str(path)] = {"id": _identity(st), "sha256": digest}
        _write_memo(memo_path, memo)
    return digest


def _write_memo(path: Path, memo: dict) -> None:
    """Atomic replace (entries of deleted files dropped); a read-only or absent cache only
    costs the re-hash next time."""
    memo = {k: v for k, v in memo.items() if os.path.exists(k)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
        tmp.write_text(json.dumps(memo))
        os.replace(tmp, path)
    except OSError:
        pass


def check_files(expected: dict[str, str], roots: dict[str, Path], where: str) -> None:
    """Verify every ``name: sha256`` of ``expected``; refuse on the first mismatch.

    Args:
        expected: relative names (``calibration.json``, ``upstream/model.bin``) to hex sha256.
        roots: directory of each name prefix (``""`` for the bundle itself, ``"upstream"``
            for the front-end's weights); a name ``prefix/rest`` resolves to ``roots[prefix]/rest``.
        where: the bundle, for messages.

    Raises:
        WeightsError: a file is missing, unreadable or differs from its recorded hash.
    """
    for name, digest in expected.items():
        path = resolve_name(name, roots, where)
        if not path.is_file():
            raise WeightsError(
                f"{where}: {name} ({path}) is listed in the model card but missing; "
                "restore it or re-save the bundle with voxguard.save_pretrained"
            )
        try:
            actual = file_sha256(path)
        except OSError as exc:
            raise WeightsError(f"{path}: cannot be read ({exc.strerror})") from None
        if actual != digest:
            raise WeightsError(
                f"{path}: sha256 {actual[:12]}… does not match the card's {str(digest)[:12]}…; "
                "the file was modified or corrupted, refusing to load it"
            )


def resolve_name(name: str, roots: dict[str, Path], where: str) -> Path:
    """The path of a card file name (``upstream/...`` names live in the front-end's folder)."""
    prefix, _, rest = name.partition("/")
    if rest and prefix in roots and prefix:
        base, rel = roots[prefix], rest
    else:
        base, rel = roots[""], name
    path = (base / rel).resolve()
    if base.resolve() not in path.parents:
        raise WeightsError(f"{where}: card file name {name!r} points outside its folder")
    return path


def check_bundle_file(directory: str | Path, card: dict, name: str) -> None:
    """Verify one file of a weights directory (if present) against its card, without torch.

    Used where the model is not built (an ONNX export run directly): a present file that the
    card does not hash, or hashes differently, is refused.
    """
    directory = Path(directory)
    if not (directory / name).is_file():
        return
    files = card.get("files")
    if not isinstance(files, dict) or name not in files:
        raise WeightsError(
            f"{directory}: {name} is not covered by the card's hashes; refusing to use it; if "
            f"you trust it, run voxguard.models._hub.seal_bundle({str(directory)!r})"
        )
    check_files({name: files[name]}, {"": directory}, str(directory))


def sidecar_path(onnx_path: str | Path) -> Path:
    """``model.onnx`` -> ``model.onnx.sha256``."""
    path = Path(onnx_path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def write_sidecar(onnx_path: str | Path) -> Path:
    """Record the sha256 of an export voxguard just wrote."""
    side = sidecar_path(onnx_path)
    side.write_text(sha256_of(onnx_path) + "\n")
    return side


def sidecar_ok(onnx_path: str | Path) -> bool:
    """Whether ``onnx_path`` exists and matches the sha256 voxguard recorded when exporting it."""
    path, side = Path(onnx_path), sidecar_path(onnx_path)
    if not path.is_file() or not side.is_file():
        return False
    try:
        return side.read_text().strip() == file_sha256(path)
    except (OSError, UnicodeDecodeError):
        return False
