"""Settings of the REST service (one frozen dataclass, filled by ``voxguard serve``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SPEAKER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
"""Speaker ids: letters, digits, ``_`` and ``-`` only (never a path, never ``..``)."""


def default_db_path() -> Path:
    """``$XDG_DATA_HOME/voxguard/enrollments.sqlite`` (``~/.local/share`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "voxguard" / "enrollments.sqlite"


@dataclass(frozen=True)
class ServiceSettings:
    """Configuration of :func:`voxguard.serving.create_app`.

    Attributes:
        db: SQLite file path (``sqlite:///path`` also accepted) or a ``postgresql://`` URL.
        api_key: key required by writes (enroll, delete); ``None`` leaves writes open, which
            ``voxguard serve`` only allows on a loopback address.
        cm_model: bundled weights name, registered CM model name or a weights directory
            (default: the bundled default CM).
        spk_model: the same for the speaker model (default: the bundled default).
        cm_threshold: bona fide when the CM's decision score is at or above it (default: 0 on
            the calibrated LLR; 0 on logit[1] - logit[0] for an uncalibrated model).
        asv_threshold: the claimed speaker when the ASV's decision score is at or above it
            (default: 0 on the calibrated LLR; 0.5 on the cosine for an uncalibrated model).
        max_upload_bytes: refuse request bodies larger than this (413), before reading them.
        max_duration_s: refuse audio longer than this (413), before decoding it.
        min_duration_s: refuse audio shorter than this (422).
        max_files: most files one enrollment request may carry.
        seed: seed of randomly initialised models (debug models, no weights).
        cm_weights: weights for a registered ``cm_model`` (directory, .safetensors or .pth).
        spk_weights: weights for a registered ``spk_model``.
        random_init: allow untrained non-debug models (demos only).
        max_decode_bytes: most bytes one file may decode to (``frames x channels x 4``),
            checked from its header before decoding (413).
        max_channels: most channels an uploaded file may have (422).
        min_rate: lowest accepted sample rate in Hz (422).
        max_rate: highest accepted sample rate in Hz (422).
        allowed_hosts: ``Host`` names the server answers to (421 otherwise; ``"*"``: any).
        allowed_origins: extra browser origins allowed to send non-GET requests.
        score_rate: ``/detect`` + ``/verify`` requests a client may make per minute (0: no
            limit); 429 past it.
        score_burst: how many of those a client may make at once.
        secret_file: the store secret keying the row checksums (default:
            ``$XDG_CONFIG_HOME/voxguard/store.key``, created 0600 on first start).
    """

    db: str = ""
    api_key: str | None = None
    cm_model: str | None = None
    spk_model: str | None = None
    cm_threshold: float | None = None
    asv_threshold: float | None = None
    max_upload_bytes: int = 20 * 1024 * 1024
    max_duration_s: float = 60.0
    min_duration_s: float = 0.1
    max_files: int = 20
    seed: int = 0
    cm_weights: str | None = None
    spk_weights: str | None = None
    random_init: bool = False
    max_decode_bytes: int = 64 * 1024 * 1024
    max_channels: int = 8
    min_rate: int = 4000
    max_rate: int = 192_000
    allowed_hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
    allowed_origins: tuple[str, ...] = ()
    score_rate: float = 120.0
    score_burst: int = 20
    secret_file: str = ""

    def resolved_db(self) -> str:
        """The store target: ``db`` or the default per-user SQLite file."""
        return self.db or str(default_db_path())

    def resolved_secret_file(self) -> str:
        """The store secret's path: ``secret_file`` or the per-user default."""
        from voxguard.serving.secret import default_secret_path

        return self.secret_file or str(default_secret_path())
