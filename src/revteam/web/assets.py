"""Static assets: the app's own CSS/JS and the vega-embed bundle, at versioned URLs.

The vega-embed bundle is the one that ``vl_convert`` ships (Vega, Vega-Lite and vega-embed,
~900 kB): built on first use, kept in memory with its gzip form and served at a versioned URL
with a one-year cache, so browsers fetch it once per vl-convert release and no CDN or npm build
is involved. The app's own files carry a digest of their contents in their URLs.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class Bundle:
    body: bytes
    gzipped: bytes
    etag: str


_lock = threading.Lock()
_bundle: Bundle | None = None


@cache
def vega_version() -> str:
    import vl_convert

    return str(getattr(vl_convert, "__version__", "0"))


def vega_url() -> str:
    return f"/vendor/vega-embed-{vega_version()}.js"


def vega_bundle() -> Bundle:
    """Build (once per process) and return the vega-embed bundle."""
    global _bundle
    with _lock:
        if _bundle is None:
            import vl_convert

            body = vl_convert.javascript_bundle().encode()  # type: ignore[call-arg]
            digest = hashlib.sha256(body).hexdigest()[:16]
            _bundle = Bundle(body, gzip.compress(body, 6), f'"{digest}"')
        return _bundle


@cache
def static_version() -> str:
    """A digest of the app's own CSS and JS, appended to their URLs to bust caches."""
    h = hashlib.sha256()
    for p in sorted(STATIC_DIR.glob("*.*")):
        h.update(p.read_bytes())
    return h.hexdigest()[:10]


def static_url(name: str) -> str:
    return f"/static/{name}?v={static_version()}"


assets_router = APIRouter(include_in_schema=False)


@assets_router.get("/vendor/vega-embed-{version}.js")
def vega_script(version: str, request: Request) -> Response:
    bundle = vega_bundle()
    headers = {
        "Cache-Control": f"public, max-age={YEAR}, immutable",
        "ETag": bundle.etag,
        "Vary": "Accept-Encoding",
    }
    if request.headers.get("if-none-match") == bundle.etag:
        return Response(status_code=304, headers=headers)
    media = "text/javascript; charset=utf-8"
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(bundle.gzipped, media_type=media, headers=headers)
    return Response(bundle.body, media_type=media, headers=headers)


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)
