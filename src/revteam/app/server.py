"""Serving the web app with uvicorn: one implementation for the CLI, the web package and Python.

It sits below both faces, so ``revteam serve`` and ``revteam demo`` (the CLI) and
``revteam.web.serve`` share it while neither face imports the other. It never imports the web
package either: uvicorn gets the app factory by its import string, :data:`APP_FACTORY`, after
what every worker needs (the migrated application database and the secret key) has been
prepared once, in this process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from revteam.app.state import demo_sign_in, load_secret_key, open_app
from revteam.settings import find_workspace

APP_FACTORY = "revteam.web.app:app_from_env"
"""The web app factory; each worker calls it and reads the workspace from REVTEAM_WORKSPACE."""
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000

Announce = Callable[[str], None]


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
    announce: Announce | None = None,
) -> None:
    """Serve the workspace's web app until interrupted.

    Parameters
    ----------
    forwarded_allow_ips
        Addresses of trusted reverse proxies (comma-separated, ``*`` for any) whose
        ``X-Forwarded-Proto`` and ``X-Forwarded-For`` are believed, which also decides whether
        cookies are marked ``Secure``. Default: this machine only (127.0.0.1 and ::1, or
        uvicorn's ``FORWARDED_ALLOW_IPS`` environment variable).
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
) -> None:
    import uvicorn

    os.environ["REVTEAM_WORKSPACE"] = str(root)  # the factory in each worker reads it
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        log_level="info",
    )


__all__ = ["APP_FACTORY", "DEFAULT_HOST", "DEFAULT_PORT", "prepare", "serve", "serve_demo"]
