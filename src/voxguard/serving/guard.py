"""Browser-facing defences: Host / Origin checks and a per-client score rate limit.

- :class:`HostOriginGuard` answers 421 to a request whose ``Host`` is not in the allow-list
  (DNS rebinding: a page on ``attacker.example`` that resolves to 127.0.0.1 still sends
  ``Host: attacker.example``), and 403 to a non-GET request that a browser marks as cross-site
  (an ``Origin`` that is not this server, ``Origin: null``, or ``Sec-Fetch-Site: cross-site``).
  Clients that are not browsers send neither header and are unaffected.
- :class:`ScoreRateLimit` caps ``POST /detect`` and ``POST /verify`` per client address with a
  token bucket (429 + ``Retry-After``): continuous scores are an oracle an attacker can
  hill-climb a spoof against, so how fast they are handed out is bounded.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from voxguard.serving.errors import error_response

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
SCORE_PATHS = ("/detect", "/verify")
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def host_name(value: str) -> str:
    """The host part of a ``Host`` header or an origin's netloc, lower-case, without the port."""
    value = value.strip().lower()
    if value.startswith("["):  # [::1]:8000
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


class HostOriginGuard:
    """ASGI middleware enforcing the Host allow-list and same-origin writes.

    Args:
        app: the wrapped application.
        allowed_hosts: host names (no port) this server answers to; ``"*"`` allows any.
        allowed_origins: extra full origins (``https://app.example``) allowed to send writes.
    """

    def __init__(
        self, app: ASGIApp, allowed_hosts: tuple[str, ...], allowed_origins: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.any_host = "*" in allowed_hosts
        self.hosts = {host_name(h) for h in allowed_hosts if h != "*"}
        self.origins = {o.rstrip("/").lower() for o in allowed_origins}

    def _origin_ok(self, origin: str) -> bool:
        if origin.rstrip("/").lower() in self.origins:
            return True
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False  # "null" (sandboxed pages, file://) and anything odd
        return self.any_host or host_name(parts.netloc) in self.hosts

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if not self.any_host and host_name(host) not in self.hosts:
            return (
                421,
                "host not allowed",
                f"this server does not answer to Host {host[:80]!r}; use one of "
                f"{sorted(self.hosts)} or start it with --allowed-host NAME",
            )
        if scope["method"] in _SAFE_METHODS:
            return None
        origin = headers.get("origin")
        cross = headers.get("sec-fetch-site", "").lower() == "cross-site"
        if cross or (origin is not None and not self._origin_ok(origin)):
            return (
                403,
                "cross-site request refused",
                f"{scope['method']} from origin {(origin or 'another site')[:80]!r} is refused; "
                "send it from this server's own page or a non-browser client, or start the "
                "server with --allowed-origin ORIGIN",
            )
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(scope)
            if refusal is not None:
                status, error, detail = refusal
                await error_response(status, error, detail, {"Connection": "close"})(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)


class TokenBuckets:
    """Per-key token buckets: ``per_minute`` tokens a minute, at most ``burst`` saved up.

    At most ``max_keys`` clients are tracked (least recently seen forgotten first), so the
    table cannot grow without bound.
    """

    def __init__(self, per_minute: float, burst: int, max_keys: int = 10_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(1, burst))
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """Spend a token of ``key``: 0 when allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens - 1.0 if wait == 0.0 else tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait


class ScoreRateLimit:
    """ASGI middleware: 429 when a client asks for scores faster than its bucket allows."""

    def __init__(self, app: ASGIApp, per_minute: float, burst: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(per_minute, burst) if per_minute > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.buckets is not None
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].rstrip("/") in SCORE_PATHS
        ):
            client = (scope.get("client") or ("unknown", 0))[0]
            wait = self.buckets.take(str(client))
            if wait > 0:
                retry = max(1, math.ceil(wait))
                await error_response(
                    429,
                    "too many score requests",
                    f"this client may ask for at most {self.buckets.rate * 60:g} scores a minute "
                    f"(bursts of {self.buckets.burst:g}); retry in {retry} s or ask the operator "
                    "to raise --score-rate",
                    {"Retry-After": str(retry), "Connection": "close"},
                )(scope, receive, send)
                return
        await self.app(scope, receive, send)
