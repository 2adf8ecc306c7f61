"""uvicorn's HTTP/1.1 protocol with JSON answers to requests it cannot parse.

uvicorn answers a request that h11 rejects (a malformed ``Content-Length`` such as ``-1``,
``1e3`` or ``12, 13``, a bad request line, ...) with a plain-text 400 before the application
sees it. :class:`JsonH11Protocol` sends the service's ``{"error", "detail"}`` body instead;
``voxguard serve`` runs uvicorn with it (``uvicorn.run(app, http=JsonH11Protocol)``).
"""

from __future__ import annotations

import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def bad_request_body(msg: str) -> bytes:
    """The JSON body of a request uvicorn could not parse."""
    detail = (
        f"the HTTP request could not be parsed ({msg or 'malformed request'}); check the "
        "request line and headers (Content-Length must be one non-negative decimal number)"
    )
    return json.dumps({"error": "malformed HTTP request", "detail": detail}).encode()


class JsonH11Protocol(H11Protocol):
    """:class:`H11Protocol` whose protocol-level 400 carries a JSON error body."""

    def send_400_response(self, msg: str) -> None:
        body = bad_request_body(msg)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self.transport.close()
