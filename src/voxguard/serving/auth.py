"""API-key authentication of writes (``POST /enroll``, ``DELETE /speakers/{id}``).

The key travels in the ``X-API-Key`` header (or ``Authorization: Bearer KEY``) and is compared
in constant time. :class:`ApiKeyGate` refuses unauthenticated writes before their body is read;
:func:`require_api_key` enforces the same rule per route and documents it in OpenAPI.
"""

from __future__ import annotations

import hmac

from fastapi import Request, Security
from fastapi.security import APIKeyHeader
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from voxguard.serving.errors import ApiError, error_response

API_KEY_HEADER = "X-API-Key"
_header_scheme = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="required by writes when the server has an API key",
)


def is_write(method: str, path: str) -> bool:
    """Whether a request changes the enrollment store."""
    return (method == "POST" and path.rstrip("/") == "/enroll") or (
        method == "DELETE" and path.startswith("/speakers/")
    )


def provided_key(headers: Headers) -> str | None:
    """The key sent in ``X-API-Key`` or as a bearer token, if any."""
    key = headers.get(API_KEY_HEADER.lower())
    if key:
        return key
    auth = headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def check_key(expected: str | None, provided: str | None) -> None:
    """Raise 401 (no key) or 403 (wrong key); no-op when the server has no key."""
    if expected is None:
        return
    if not provided:
        raise ApiError(
            401,
            "missing API key",
            f"this write needs the server's API key: send it in the {API_KEY_HEADER} "
            "header (or Authorization: Bearer KEY)",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    if not hmac.compare_digest(provided.encode(), expected.encode()):
        raise ApiError(
            403,
            "wrong API key",
            f"the {API_KEY_HEADER} header does not match the server's key; "
            "ask the operator for the key given to `voxguard serve --api-key`",
        )


def require_api_key(request: Request, _: str | None = Security(_header_scheme)) -> None:
    """FastAPI dependency: the app's key (``settings.api_key``), shown as a security scheme in /docs."""
    check_key(request.app.state.settings.api_key, provided_key(request.headers))


class ApiKeyGate:
    """ASGI middleware: answer unauthenticated writes at once, without reading their body."""

    def __init__(self, app: ASGIApp, api_key: str | None) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and self.api_key is not None
            and is_write(scope["method"], scope["path"])
        ):
            try:
                check_key(self.api_key, provided_key(Headers(scope=scope)))
            except ApiError as exc:
                headers = {**(exc.headers or {}), "Connection": "close"}
                await error_response(exc.status_code, exc.error, exc.detail, headers)(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)
