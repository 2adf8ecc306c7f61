"""Exception handlers: every failure becomes ``{"error": ..., "detail": ...}`` with a 4xx code
(5xx only for a store outage or a bug)."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from voxguard.audio.io import AudioLimitError
from voxguard.errors import AudioError, VoxguardError
from voxguard.serving.errors import ApiError, error_response
from voxguard.serving.store import (
    EnrollmentConflictError,
    IntegrityError,
    SpeakerNotFoundError,
    StoreError,
)

log = logging.getLogger("voxguard.serving")
_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>")

_HINTS = {
    400: "send multipart/form-data with the fields listed in /docs",
    404: "see /docs for the endpoints",
    405: "see /docs for the methods each endpoint accepts",
}


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = [str(p) for p in err.get("loc", ())]
        where = f"{loc[0]} field {'.'.join(loc[1:])!r}" if len(loc) > 1 else ".".join(loc)
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) + " (see /docs for the expected fields)"


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error handlers on ``app``."""

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status_code, exc.error, str(exc.detail), exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = exc.status_code
        try:
            title = HTTPStatus(code).phrase.lower()
        except ValueError:
            title = "error"
        detail = str(exc.detail).rstrip(".")
        if code == 404 and detail == "Not Found":
            detail = f"no endpoint at {request.url.path[:100]!r}"
        hint = _HINTS.get(code)
        return error_response(
            code, title, f"{detail}; {hint}" if hint else detail, getattr(exc, "headers", None)
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid request", _describe_validation(exc))

    @app.exception_handler(AudioLimitError)
    async def audio_limit(_: Request, exc: AudioLimitError) -> JSONResponse:
        if exc.too_large:
            return error_response(413, "audio too large to decode", str(exc))
        return error_response(422, "unsupported audio format", str(exc))

    @app.exception_handler(AudioError)
    async def audio_error(_: Request, exc: AudioError) -> JSONResponse:
        # soundfile names the in-memory buffer by its repr; the message already names the file
        return error_response(422, "bad audio", _OBJECT_REPR.sub("the upload", str(exc)))

    @app.exception_handler(SpeakerNotFoundError)
    async def not_found(_: Request, exc: SpeakerNotFoundError) -> JSONResponse:
        return error_response(404, "unknown speaker", str(exc))

    @app.exception_handler(EnrollmentConflictError)
    async def conflict(_: Request, exc: EnrollmentConflictError) -> JSONResponse:
        return error_response(409, "enrollment conflict", str(exc))

    @app.exception_handler(IntegrityError)
    async def integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        log.error("enrollment integrity check failed: %s", exc)
        return error_response(409, "enrollment integrity check failed", str(exc))

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        log.error("enrollment store error: %s", exc)
        return error_response(503, "enrollment store unavailable", str(exc))

    @app.exception_handler(VoxguardError)
    async def voxguard_error(_: Request, exc: VoxguardError) -> JSONResponse:
        return error_response(422, "invalid input", str(exc))

    @app.exception_handler(Exception)
    async def internal_error(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(
            500,
            "internal error",
            f"{type(exc).__name__}; this is a voxguard bug, please report it "
            "with the request that caused it",
        )
