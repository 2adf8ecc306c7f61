"""The server secret that keys the enrollment checksums (HMAC-SHA256).

It lives in a file outside the database (default ``$XDG_CONFIG_HOME/voxguard/store.key``),
created on first start with mode 0600, so that someone who can write the database but not that
file cannot forge a row: swapping an embedding and recomputing a plain sha256 is refused.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from voxguard.serving.store import StoreError

SECRET_BYTES = 32


def default_secret_path() -> Path:
    """``$XDG_CONFIG_HOME/voxguard/store.key`` (``~/.config`` when unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "voxguard" / "store.key"


def load_or_create_secret(path: str | Path) -> bytes:
    """Read the secret at ``path``, creating it (0600, in a 0700 folder) when absent.

    Raises:
        StoreError: the file cannot be created or read, is too short, or other users can read it.
    """
    path = Path(path)
    try:
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(SECRET_BYTES) + "\n")
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except FileExistsError:  # another process created it between exists() and open()
        return load_or_create_secret(path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise StoreError(
            f"{path}: cannot create or read the store secret ({reason}); pass --secret-file "
            "with a writable path"
        ) from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise StoreError(
            f"{path}: the store secret is readable by other users; run `chmod 600 {path}`"
        )
    if len(text) < 32:
        raise StoreError(
            f"{path}: the store secret is too short ({len(text)} characters); delete the file "
            "to create a new one (and enroll every speaker again), or write 64 hex digits"
        )
    return text.encode()
