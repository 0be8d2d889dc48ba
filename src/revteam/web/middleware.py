"""The web app's plain ASGI middleware (cheap per request), outermost first.

- :class:`SecurityHeaders`: a strict Content-Security-Policy, no framing, no caching. Only the
  static assets under :data:`PUBLIC` may be cached; everything else is business data and gets
  ``Cache-Control: no-store``. HSTS is added when the request came over https (as uvicorn's
  proxy-header handling decides).
- :class:`HeadAsGet`: ``HEAD`` answered as ``GET`` without the body.
- :class:`BodyLimit`: request bodies are bounded in size (413) and in how slowly they may
  arrive (408).
- :class:`AuthFirst`: a request that changes something shows its credentials before its body
  is read.
"""

from __future__ import annotations

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from revteam.exceptions import RevteamError
from revteam.web import errors
from revteam.web.deps import SAFE_METHODS, get_principal

CSP = (
    "default-src 'self'; "
    # Vega compiles its expression language with Function(): 'unsafe-eval', but no inline code.
    "script-src 'self' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


PUBLIC = ("/static/", "/vendor/")
"""Paths whose responses may be cached; everything else is business data: ``no-store``."""


class SecurityHeaders:
    """Adds security headers to every response (a plain ASGI middleware: cheap per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                names = {k.lower() for k, _ in message["headers"]}
                message["headers"] += [(k, v) for k, v in HEADERS if k not in names]
                if b"cache-control" not in names and not scope["path"].startswith(PUBLIC):
                    message["headers"].append((b"cache-control", b"no-store"))
                if scope.get("scheme") == "https":
                    message["headers"].append((b"strict-transport-security", b"max-age=31536000"))
            await send(message)

        await self.app(scope, receive, with_headers)


class HeadAsGet:
    """Answers ``HEAD`` as ``GET`` with the same headers and no body (RFC 9110, 9.3.2).

    The routes declare ``GET`` only; monitors and link checkers ask with ``HEAD``. The static
    files answer ``HEAD`` themselves.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "HEAD"
            or scope["path"].startswith("/static/")
        ):
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class BodyLimit:
    """Refuses request bodies over ``max_bytes`` (413) and bodies sent too slowly (408).

    A declared ``Content-Length`` is checked before the app runs; a body without one (chunked)
    is counted as it is read, and reading stops at the limit. Each wait for the next part of a
    body is bounded by ``timeout`` seconds, while the body is incomplete only: afterwards
    ``receive`` waits for the client to disconnect, which a streaming response does for as long
    as it streams.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    def too_large(self, size: int | None = None) -> str:
        has = (
            f"has {size:,} bytes"
            if size is not None
            else f"is larger than {self.max_bytes:,} bytes"
        )
        return (
            f"The request body {has}; this server accepts at most {self.max_bytes:,} bytes "
            "(max_body_kilobytes in [limits] of revteam.toml). Send a smaller request, e.g. "
            "fewer metrics or filter values."
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            request = Request(scope)
            response = errors.error_response(
                request, 413, "request_too_large", self.too_large(declared)
            )
            await response(scope, receive, send)
            return
        received = 0
        complete = False

        async def limited() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()
            try:
                with anyio.fail_after(self.timeout):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(
                    408,
                    f"The request body did not arrive within {self.timeout:g} s; send it again.",
                ) from None
            if message["type"] != "http.request":
                complete = True
                return message
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, self.too_large())
            complete = not message.get("more_body", False)
            return message

        await self.app(scope, limited, send)


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class AuthFirst:
    """Checks the credentials of a request that changes something before its body is read.

    FastAPI reads and parses a body before the route's dependencies run, so a caller without
    credentials could otherwise make the server take in and parse a large body only to be
    refused. Safe methods and ``public`` paths (the sign-in form) pass through; the principal
    found is kept on the request, so the route does not look it up again.
    """

    def __init__(self, app: ASGIApp, *, public: frozenset[str] = frozenset({"/login"})) -> None:
        self.app = app
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in SAFE_METHODS
            or scope["path"] in self.public
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            await run_in_threadpool(get_principal, request, request.app.state.runtime)
        except RevteamError as exc:
            await errors.response_for(request, exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)
