"""Security headers on every response: a strict Content-Security-Policy, no framing, no caching.

A plain ASGI middleware (cheap per request). Only the static assets under :data:`PUBLIC` may be
cached; everything else is business data and gets ``Cache-Control: no-store``. HSTS is added
when the request came over https (as uvicorn's proxy-header handling decides).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
