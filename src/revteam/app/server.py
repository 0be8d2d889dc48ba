"""Serving the web app with uvicorn: one implementation for the CLI, the web package and Python.

It sits below both faces, so ``revteam serve`` and ``revteam demo`` (the CLI) and
``revteam.web.serve`` share it while neither face imports the other. It never imports the web
package either: uvicorn gets the app factory by its import string, :data:`APP_FACTORY`, after
what every worker needs (the migrated application database and the secret key) has been
prepared once, in this process.

Two of uvicorn's defaults are changed, for a server that may face the internet:

- ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed from no one unless trusted
  proxies are named (uvicorn believes any client on this machine), so neither the address
  that sign-in throttling and the audit log see nor the https-ness that marks cookies
  ``Secure`` can be forged through a local process or a proxy that passes the headers on;
- slow clients are cut off: a request's head must arrive within
  :attr:`ServerLimits.header_timeout` (uvicorn has no such limit; see
  :mod:`revteam.app._http`), idle connections close after ``keep_alive`` seconds, and heads
  are bounded in size.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from revteam.app.state import demo_sign_in, load_secret_key, open_app
from revteam.settings import find_workspace

APP_FACTORY = "revteam.web.app:app_from_env"
"""The web app factory; each worker calls it and reads the workspace from REVTEAM_WORKSPACE."""
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
WORKER_HEALTHCHECK_SECONDS = 60
"""How long uvicorn waits for a worker process to answer its health check. A worker imports the
analytics stack and opens the workspace before it can answer, which takes longer than uvicorn's
default of 5 s on many machines; with that default, ``--workers 2`` killed every worker as it
started, over and over."""

Announce = Callable[[str], None]


@dataclass(frozen=True)
class ServerLimits:
    """How long and how much the server waits for a client: slow clients must not hold it."""

    header_timeout: float = 10.0
    """Seconds a client has to send a request's line and headers; then it is disconnected."""
    keep_alive: int = 5
    """Seconds an idle kept-alive connection stays open."""
    max_header_bytes: int = 16 * 1024
    """Largest request head (line and headers) accepted; a larger one gets 400."""


def uvicorn_options(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    workers: int = 1,
    access_log: bool = True,
    forwarded_allow_ips: str | None = None,
    limits: ServerLimits | None = None,
) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` that serve :data:`APP_FACTORY`."""
    from revteam.app._http import HeadTimeoutH11Protocol

    limits = limits or ServerLimits()
    trusted = (forwarded_allow_ips or "").strip()
    return {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "access_log": access_log,
        # No trusted proxy unless named: uvicorn's default trusts 127.0.0.1.
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
        "http": partial(HeadTimeoutH11Protocol, header_timeout=limits.header_timeout),
        "ws": "none",  # the app has no websockets; an upgrade must not escape the head timer
        "timeout_keep_alive": limits.keep_alive,
        "timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS,
        "h11_max_incomplete_event_size": limits.max_header_bytes,
        "log_level": "info",
    }


def prepare(ws_path: Path | str | None) -> Path:
    """Migrate the application database and create the secret key; returns the workspace."""
    root = find_workspace(ws_path)
    open_app(root, upgrade=True).close()
    load_secret_key(root)
    return root


def serve(
    ws_path: Path | str | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    workers: int = 1,
    access_log: bool = True,
    forwarded_allow_ips: str | None = None,
    limits: ServerLimits | None = None,
    announce: Announce | None = None,
) -> None:
    """Serve the workspace's web app until interrupted.

    Parameters
    ----------
    forwarded_allow_ips
        Addresses of trusted reverse proxies (comma-separated, ``*`` for any) whose
        ``X-Forwarded-Proto`` and ``X-Forwarded-For`` are believed, which also decides whether
        cookies are marked ``Secure``. Default: none, not even this machine (uvicorn's
        ``FORWARDED_ALLOW_IPS`` environment variable is not read).
    limits
        Timeouts and sizes that cut off slow or oversized clients.
    announce
        Receives one line saying what is served where, before the server starts.
    """
    root = prepare(ws_path)
    if announce is not None:
        announce(f"Serving {root} on http://{host}:{port}/ (Ctrl+C to stop)")
    _run(
        root,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        forwarded_allow_ips=forwarded_allow_ips,
        limits=limits,
    )


def serve_demo(
    ws_path: Path | str,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    announce: Announce = print,
) -> None:
    """Create (or reset) the demo admin, announce the URL and sign-in, then serve.

    ``revteam demo`` calls this at its end; ``announce`` receives one line to print.
    """
    root = prepare(ws_path)
    email, password = demo_sign_in(root)
    announce(f"Open http://{host}:{port}/ and sign in as {email} with password {password}")
    _run(root, host=host, port=port)


def _run(
    root: Path,
    *,
    host: str,
    port: int,
    workers: int = 1,
    access_log: bool = True,
    forwarded_allow_ips: str | None = None,
    limits: ServerLimits | None = None,
) -> None:
    import uvicorn

    os.environ["REVTEAM_WORKSPACE"] = str(root)  # the factory in each worker reads it
    options = uvicorn_options(
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        forwarded_allow_ips=forwarded_allow_ips,
        limits=limits,
    )
    uvicorn.run(APP_FACTORY, **options)


__all__ = [
    "APP_FACTORY",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "ServerLimits",
    "prepare",
    "serve",
    "serve_demo",
    "uvicorn_options",
]
