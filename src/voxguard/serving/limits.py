"""Upload limits, enforced before the work is done.

- :class:`BodySizeLimit` (ASGI middleware) answers 413 from the ``Content-Length`` header
  alone, and counts streamed (chunked) bodies, aborting with 413 as soon as the cap is passed.
- :func:`read_capped` reads one uploaded file in chunks, never more than the cap + 1 bytes.
- :func:`check_duration` refuses over-long audio from its header, before decoding it.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxguard.audio import audio_info
from voxguard.errors import AudioError
from voxguard.serving.errors import ApiError, error_response

_CHUNK = 1 << 16
_BYTE_COUNT = re.compile(r"[0-9]{1,18}")  # ASCII digits only: "²".isdigit() is True


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


class UploadTooLarge(ApiError):
    """413: the request body or one file is over the size cap."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(
            413,
            "upload too large",
            f"{what} is over the {_mb(limit)} limit; send a shorter recording "
            "(e.g. 16 kHz mono FLAC) or raise --max-upload-mb",
            headers={"Connection": "close"},
        )


class BodySizeLimit:
    """ASGI middleware capping request bodies at ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = int(max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lengths = Headers(scope=scope).getlist("content-length")
        declared = lengths[0] if lengths else None
        if declared is not None:
            if len(set(lengths)) > 1 or not _BYTE_COUNT.fullmatch(declared):
                await error_response(
                    400,
                    "bad Content-Length",
                    f"Content-Length {declared[:40]!r} is not a byte count",
                    {"Connection": "close"},
                )(scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                exc = UploadTooLarge(f"the request body ({_mb(int(declared))})", self.max_bytes)
                await error_response(exc.status_code, exc.error, exc.detail, exc.headers)(
                    scope, receive, send
                )
                return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise UploadTooLarge("the request body", self.max_bytes)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except UploadTooLarge as exc:
            if started:
                raise
            await error_response(exc.status_code, exc.error, exc.detail, exc.headers)(
                scope, receive, send
            )


def read_capped(stream: BinaryIO, limit: int, label: str) -> bytes:
    """Read ``stream`` in chunks; raise :class:`UploadTooLarge` once it passes ``limit``."""
    parts, size = [], 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > limit:
            raise UploadTooLarge(f"file {label!r}", limit)
        parts.append(chunk)


def check_duration(data: bytes, label: str, min_s: float, max_s: float) -> float:
    """Duration of encoded audio from its header; 413 when too long, 422 when too short."""
    info = audio_info(data, name=label)  # AudioError (-> 422) when unreadable
    if info.samplerate <= 0 or info.frames <= 0:
        raise AudioError(label, "contains no audio samples", "check the recording")
    seconds = info.frames / info.samplerate
    if seconds > max_s:
        raise ApiError(
            413,
            "audio too long",
            f"file {label!r} is {seconds:.1f} s long, over the {max_s:g} s limit; "
            "cut it (e.g. `sox in.wav out.wav trim 0 30`) or raise --max-duration-s",
        )
    if seconds < min_s:
        raise ApiError(
            422,
            "audio too short",
            f"file {label!r} is {seconds:.3f} s long; send at least {min_s:g} s of speech",
        )
    return seconds
