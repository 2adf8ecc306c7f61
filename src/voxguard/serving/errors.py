"""HTTP errors of the service: every 4xx/5xx body is ``{"error": ..., "detail": ...}``."""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import JSONResponse


class ApiError(HTTPException):
    """An HTTP error with a short ``error`` title and a ``detail`` naming the input and the fix."""

    def __init__(
        self, status_code: int, error: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=headers)
        self.error = error


def error_response(
    status_code: int, error: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The JSON error body every failure uses."""
    return JSONResponse(
        {"error": error, "detail": detail}, status_code=status_code, headers=headers
    )
