"""The web face: shared dashboards (server-rendered pages) and the REST API (``/api/v1``).

>>> from revteam.web import create_app, serve
>>> app = create_app("my-workspace")          # doctest: +SKIP
>>> serve("my-workspace", port=8000)          # doctest: +SKIP

``serve`` and ``serve_demo`` are :mod:`revteam.app.server`'s, which ``revteam serve`` uses too.
"""

from __future__ import annotations

from revteam.app.server import serve, serve_demo
from revteam.web.app import API_PREFIX, create_app
from revteam.web.runtime import WebOptions

__all__ = ["API_PREFIX", "WebOptions", "create_app", "serve", "serve_demo"]
