"""What the route handlers share: the :class:`Service` of an app and how to get it.

``create_app`` builds one :class:`Service` (settings, engine, store, decode limits, model
info) and keeps it in ``app.state.service``; a handler asks for it with a :data:`ServiceDep`
parameter, so the routers hold no state of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, Request, UploadFile

from voxguard.audio import DecodeLimits, load_audio
from voxguard.serving.engine import Engine
from voxguard.serving.limits import check_duration, read_capped
from voxguard.serving.settings import ServiceSettings
from voxguard.serving.store import Enrollment, EnrollmentStore


def safe_label(filename: str | None) -> str:
    """A printable label for an uploaded file (never used as a path)."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip()[:80]
    return base or "upload"


def speaker_info(e: Enrollment) -> dict:
    """The public fields of an enrollment (no embedding)."""
    return {
        "speaker_id": e.speaker_id,
        "count": e.count,
        "embedding_dim": e.dim,
        "model": e.model,
        "embedding_sha256": e.sha256,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
    }


@dataclass(frozen=True)
class Service:
    """One app's models, store and limits.

    Attributes:
        settings: the service settings.
        engine: the models (CM and speaker).
        store: the enrollment store.
        limits: what the audio decoder accepts.
        info: ``engine.info()`` (models, thresholds), read once at start.
    """

    settings: ServiceSettings
    engine: Engine
    store: EnrollmentStore
    limits: DecodeLimits
    info: dict[str, Any]

    def decode(self, upload: UploadFile) -> tuple[np.ndarray, float, str]:
        """``(samples at the engine's rate, duration in seconds, label)`` of an upload."""
        s = self.settings
        label = safe_label(upload.filename)
        data = read_capped(upload.file, s.max_upload_bytes, label)
        seconds = check_duration(data, label, s.min_duration_s, s.max_duration_s)
        samples, _ = load_audio(
            data, self.engine.sample_rate, name=label, max_duration_s=None, limits=self.limits
        )
        return samples, seconds, label


def get_service(request: Request) -> Service:
    """The :class:`Service` of the app serving ``request``."""
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]
