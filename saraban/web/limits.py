"""Request bodies are limited before they are read, on every route (ASVS 13.1.3, 12.1.1).

An ASGI middleware, outside everything else: a request whose ``Content-Length`` is over its
limit is answered ``413`` before one byte of its body is read; a body sent without a length
(chunked) is counted as it streams, and refused with ``413`` the moment it passes the limit,
so no route, form parser or validator ever holds more than the limit.

The limit depends on what the request could be:

- no session cookie (``/api/login``, ``/login``, e-MVS's ``/api/credentials/verify``, or
  anyone who is not logged in): ``max_anonymous_body_bytes``, a few kilobytes, enough for a
  username and a password;
- a session cookie and a multipart form (a letter's PDF): ``max_upload_bytes`` and room for
  the form's other fields (``UPLOAD_OVERHEAD``);
- a session cookie otherwise (JSON, forms): ``max_body_bytes``.

A cookie costs nothing to forge, so it only raises the bound from a few kilobytes to the
upload's; the route still refuses anyone who is not logged in.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from saraban.services.sessions import COOKIE_NAME
from saraban.settings import Settings

UPLOAD_OVERHEAD = 64 * 1024  # a multipart form's other fields and boundaries


def _message(limit: int) -> str:
    return f"คำขอใหญ่เกินไป / the request body is larger than {limit:,} bytes"


class _BodyTooLarge(HTTPException):
    """The body passed its limit while streaming: an HTTPException, so that FastAPI's body
    parsing lets it through (413) rather than calling it a malformed body (400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _message(limit))


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return ""


def _has_session(scope: Scope) -> bool:
    cookies = _header(scope, b"cookie")
    return any(part.strip().startswith(f"{COOKIE_NAME}=") for part in cookies.split(";"))


def body_limit(scope: Scope, settings: Settings) -> int:
    """The most bytes this request's body may have."""
    if not _has_session(scope):
        return settings.max_anonymous_body_bytes
    if _header(scope, b"content-type").lower().startswith("multipart/form-data"):
        return settings.max_upload_bytes + UPLOAD_OVERHEAD
    return settings.max_body_bytes


def _too_large(limit: int) -> tuple[Message, Message]:
    body = json.dumps(
        {"detail": _message(limit)},
        ensure_ascii=False,
    ).encode("utf-8")
    start: Message = {
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class BodyLimit:
    """The middleware (``app.add_middleware(BodyLimit, settings=...)``)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope, self.settings)
        declared = _header(scope, b"content-length")
        if declared:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0 or length > limit:
                for message in _too_large(limit):
                    await send(message)
                return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _BodyTooLarge:
            if started:
                raise
            for message in _too_large(limit):
                await send(message)
