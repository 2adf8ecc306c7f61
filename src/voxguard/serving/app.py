"""The FastAPI application: ``create_app(settings)``.

Endpoints: ``POST /detect``, ``POST /enroll``, ``POST /verify``, ``GET /speakers``,
``GET|DELETE /speakers/{id}``, ``GET /health``, ``GET /info``, the web page at ``/`` and the
OpenAPI documentation at ``/docs`` and ``/openapi.json``; each area is a router in
:mod:`voxguard.serving.routers`. Audio is decoded from the uploaded bytes by
:func:`voxguard.audio.load_audio`; the models sit behind the
:class:`~voxguard.serving.engine.Engine` seam.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from voxguard import __version__
from voxguard.audio import DecodeLimits
from voxguard.serving.auth import ApiKeyGate
from voxguard.serving.context import Service, safe_label
from voxguard.serving.engine import Engine, ModelEngine
from voxguard.serving.guard import HostOriginGuard, ScoreRateLimit
from voxguard.serving.handlers import install_error_handlers
from voxguard.serving.limits import BodySizeLimit
from voxguard.serving.routers import cm, service, speakers, web
from voxguard.serving.routers.web import STATIC_DIR
from voxguard.serving.schemas import ErrorBody
from voxguard.serving.secret import load_or_create_secret
from voxguard.serving.settings import ServiceSettings
from voxguard.serving.store import EnrollmentStore, open_store

__all__ = ["STATIC_DIR", "create_app", "safe_label"]

_ERRORS = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 421, 422, 429, 503)
}
_DESCRIPTION = (
    "Spoof-aware speaker verification: countermeasure (CM) scores, speaker "
    "enrollment and verification. Scores: higher = bona fide / same speaker. Writes need "
    'the X-API-Key header when the server has a key. Errors: {"error", "detail"}.'
)


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
    engine = engine or _model_engine(settings)
    owns_store = store is None
    if store is None:
        secret = load_or_create_secret(settings.resolved_secret_file())
        store = open_store(settings.resolved_db(), secret=secret)
    limits = DecodeLimits(
        settings.min_rate, settings.max_rate, settings.max_channels, settings.max_decode_bytes
    )
    app = FastAPI(
        title="voxguard",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=_lifespan(store if owns_store else None),
        responses=_ERRORS,
    )
    app.state.settings, app.state.engine, app.state.store = settings, engine, store
    app.state.service = Service(settings, engine, store, limits, engine.info())
    install_error_handlers(app)
    _add_middleware(app, settings)
    for module in (web, cm, speakers, service):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _model_engine(settings: ServiceSettings) -> ModelEngine:
    return ModelEngine(
        settings.cm_model,
        settings.spk_model,
        settings.cm_threshold,
        settings.asv_threshold,
        settings.seed,
        settings.cm_weights,
        settings.spk_weights,
        settings.random_init,
    )


def _lifespan(owned: EnrollmentStore | None) -> Callable[[FastAPI], AsyncIterator[None]]:
    """Close ``owned`` (a store the app opened itself) on shutdown."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owned is not None:
            owned.close()

    return lifespan


def _add_middleware(app: FastAPI, settings: ServiceSettings) -> None:
    """Upload cap, API-key gate, score rate limit and Host / Origin guard (runs first)."""
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(ApiKeyGate, api_key=settings.api_key)
    app.add_middleware(ScoreRateLimit, per_minute=settings.score_rate, burst=settings.score_burst)
    app.add_middleware(
        HostOriginGuard,
        allowed_hosts=tuple(settings.allowed_hosts),
        allowed_origins=tuple(settings.allowed_origins),
    )  # added last = runs first: a refused Host or Origin costs nothing
