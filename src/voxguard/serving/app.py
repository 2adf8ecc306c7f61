"""The FastAPI application: ``create_app(settings)``.

Endpoints: ``POST /detect``, ``POST /enroll``, ``POST /verify``, ``GET /speakers``,
``GET|DELETE /speakers/{id}``, ``GET /health``, ``GET /info``, the web page at ``/`` and the
OpenAPI documentation at ``/docs`` and ``/openapi.json``. Audio is decoded from the uploaded
bytes by :func:`voxguard.audio.load_audio`; the models sit behind the
:class:`~voxguard.serving.engine.Engine` seam.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from fastapi import Depends, FastAPI, File, Form, Query, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from voxguard import __version__
from voxguard.audio import DecodeLimits, load_audio
from voxguard.serving.auth import ApiKeyGate, api_key_dependency
from voxguard.serving.engine import Engine, ModelEngine
from voxguard.serving.errors import ApiError
from voxguard.serving.guard import HostOriginGuard, ScoreRateLimit
from voxguard.serving.handlers import install_error_handlers
from voxguard.serving.limits import BodySizeLimit, check_duration, read_capped
from voxguard.serving.schemas import (
    DeleteResponse,
    DetectResponse,
    EnrollResponse,
    ErrorBody,
    HealthResponse,
    InfoResponse,
    SpeakerInfo,
    SpeakerList,
    VerifyResponse,
)
from voxguard.serving.secret import load_or_create_secret
from voxguard.serving.settings import SPEAKER_ID_PATTERN, ServiceSettings
from voxguard.serving.store import Enrollment, EnrollmentStore, StoreError, open_store

log = logging.getLogger("voxguard.serving")
STATIC_DIR = Path(__file__).resolve().parent / "static"
_ERRORS = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 421, 422, 429, 503)
}
MAX_OFFSET = 1 << 31  # far past any real store; bounds the SQL integer (no OverflowError)
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; media-src 'self' blob:; img-src 'self' data:",
    "X-Content-Type-Options": "nosniff",
}

SpeakerForm = Annotated[
    str,
    Form(pattern=SPEAKER_ID_PATTERN, description="speaker id: 1-64 letters, digits, '_' or '-'"),
]
SpeakerPath = Annotated[str, PathParam(pattern=SPEAKER_ID_PATTERN)]


def safe_label(filename: str | None) -> str:
    """A printable label for an uploaded file (never used as a path)."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip()[:80]
    return base or "upload"


def _speaker_info(e: Enrollment) -> dict:
    return {
        "speaker_id": e.speaker_id,
        "count": e.count,
        "embedding_dim": e.dim,
        "model": e.model,
        "embedding_sha256": e.sha256,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
    }


def create_app(
    settings: ServiceSettings | None = None,
    *,
    engine: Engine | None = None,
    store: EnrollmentStore | None = None,
) -> FastAPI:
    """Build the service.

    Args:
        settings: models, thresholds, store target, API key and limits.
        engine: models to use (default: :class:`ModelEngine` built from ``settings``).
        store: enrollment store (default: ``open_store(settings.resolved_db())`` keyed by the
            secret in ``settings.resolved_secret_file()``, closed on shutdown).
    """
    settings = settings or ServiceSettings()
    if engine is None:
        engine = ModelEngine(
            settings.cm_model,
            settings.spk_model,
            settings.cm_threshold,
            settings.asv_threshold,
            settings.seed,
            settings.cm_weights,
            settings.spk_weights,
            settings.random_init,
        )
    owns_store = store is None
    if store is None:
        secret = load_or_create_secret(settings.resolved_secret_file())
        store = open_store(settings.resolved_db(), secret=secret)
    limits = DecodeLimits(
        settings.min_rate, settings.max_rate, settings.max_channels, settings.max_decode_bytes
    )
    info = engine.info()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_store:
            store.close()

    app = FastAPI(
        title="voxguard",
        version=__version__,
        description="Spoof-aware speaker verification: countermeasure (CM) scores, speaker "
        "enrollment and verification. Scores: higher = bona fide / same speaker. Writes need "
        'the X-API-Key header when the server has a key. Errors: {"error", "detail"}.',
        lifespan=lifespan,
        responses=_ERRORS,
    )
    app.state.settings, app.state.engine, app.state.store = settings, engine, store
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(ApiKeyGate, api_key=settings.api_key)
    app.add_middleware(ScoreRateLimit, per_minute=settings.score_rate, burst=settings.score_burst)
    app.add_middleware(
        HostOriginGuard,
        allowed_hosts=tuple(settings.allowed_hosts),
        allowed_origins=tuple(settings.allowed_origins),
    )  # added last = runs first: a refused Host or Origin costs nothing
    write_auth = [Depends(api_key_dependency(settings.api_key))]

    def decode(upload: UploadFile) -> tuple[np.ndarray, float, str]:
        label = safe_label(upload.filename)
        data = read_capped(upload.file, settings.max_upload_bytes, label)
        seconds = check_duration(data, label, settings.min_duration_s, settings.max_duration_s)
        samples, _ = load_audio(
            data, engine.sample_rate, name=label, max_duration_s=None, limits=limits
        )
        return samples, seconds, label

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS)

    @app.post("/detect", response_model=DetectResponse, tags=["cm"])
    def detect(file: Annotated[UploadFile, File(description="audio: wav/flac/ogg/mp3")]) -> dict:
        """Countermeasure score of one file (is it bona fide human speech?)."""
        samples, seconds, label = decode(file)
        result = engine.detect(samples, engine.sample_rate)
        return {
            "file": label,
            "cm_score": result["score"],
            "cm_llr": result.get("llr"),
            "decision": result["decision"],
            "cm_decision": result["decision"],
            "cm_decision_score": result.get("decision_score"),
            "cm_score_kind": result.get("score_kind"),
            "cm_operating_point": result.get("operating_point"),
            "cm_threshold": info["cm_threshold"],
            "duration_s": seconds,
            "segments": result.get("segments", []),
        }

    @app.post("/enroll", response_model=EnrollResponse, dependencies=write_auth, tags=["speakers"])
    def enroll(
        speaker_id: SpeakerForm,
        files: Annotated[list[UploadFile], File(description="one or more recordings")],
        mode: Annotated[Literal["replace", "append"], Form()] = "replace",
    ) -> dict:
        """Enroll a speaker: the mean embedding of the files (``append`` adds to it)."""
        if len(files) > settings.max_files:
            raise ApiError(
                422,
                "too many files",
                f"{len(files)} files sent, at most {settings.max_files} per request; "
                "enroll the rest with mode=append",
            )
        decoded = [decode(f) for f in files]
        embeddings = np.stack([engine.embed(s, engine.sample_rate) for s, _, _ in decoded])
        enrollment = store.enroll(speaker_id, embeddings, info["spk_model"], mode=mode)
        return {**_speaker_info(enrollment), "files": [lbl for _, _, lbl in decoded], "mode": mode}

    @app.post("/verify", response_model=VerifyResponse, tags=["speakers"])
    def verify(
        speaker_id: SpeakerForm, file: Annotated[UploadFile, File(description="the test recording")]
    ) -> dict:
        """Is this recording bona fide AND the claimed speaker? CM + ASV scores, fused decision."""
        enrollment = store.get(speaker_id)
        if enrollment.model != info["spk_model"] or enrollment.dim != info["embedding_dim"]:
            raise ApiError(
                409,
                "enrollment from another model",
                f"speaker {speaker_id!r} was enrolled with {enrollment.model!r} "
                f"({enrollment.dim}-dim) but this server runs {info['spk_model']!r}; "
                "enroll the speaker again (POST /enroll)",
            )
        samples, seconds, label = decode(file)
        result = engine.verify(enrollment.embedding, samples, engine.sample_rate)
        return {
            **result,
            "speaker_id": speaker_id,
            "file": label,
            "duration_s": seconds,
            "cm_threshold": info["cm_threshold"],
            "asv_threshold": info["asv_threshold"],
            "asv_operating_point": info.get("asv_operating_point"),
        }

    @app.get("/speakers", response_model=SpeakerList, tags=["speakers"])
    def list_speakers(
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict:
        """Enrolled speakers, ordered by id (paged)."""
        rows = store.list(offset=offset, limit=limit)
        return {
            "total": store.count(),
            "offset": offset,
            "limit": limit,
            "speakers": [_speaker_info(e) for e in rows],
        }

    @app.get("/speakers/{speaker_id}", response_model=SpeakerInfo, tags=["speakers"])
    def get_speaker(speaker_id: SpeakerPath) -> dict:
        """One enrollment (count, model, embedding checksum)."""
        return _speaker_info(store.get(speaker_id))

    @app.delete(
        "/speakers/{speaker_id}",
        response_model=DeleteResponse,
        dependencies=write_auth,
        tags=["speakers"],
    )
    def delete_speaker(speaker_id: SpeakerPath) -> dict:
        """Remove an enrollment."""
        store.delete(speaker_id)
        return {"speaker_id": speaker_id, "deleted": True}

    @app.get("/health", response_model=HealthResponse, tags=["service"])
    def health() -> dict:
        """Liveness; ``degraded`` when the store does not answer."""
        try:
            return {"status": "ok", "store": "ok", "speakers": store.count()}
        except StoreError as exc:
            return {"status": "degraded", "store": str(exc)}

    @app.get("/info", response_model=InfoResponse, tags=["service"])
    def server_info() -> dict:
        """Models, thresholds, fusion rule and limits."""
        return {
            **info,
            "version": __version__,
            "store_backend": store.backend,
            "auth_required_for_writes": settings.api_key is not None,
            "max_upload_bytes": settings.max_upload_bytes,
            "max_duration_s": settings.max_duration_s,
            "min_duration_s": settings.min_duration_s,
            "max_files": settings.max_files,
        }

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
