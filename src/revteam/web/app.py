"""The FastAPI application: pages for people, ``/api/v1`` for programs, one OpenAPI document.

``create_app(ws_path)`` opens the workspace's application database (migrating it unless told
not to), loads or creates the secret key, and wires the routes, the static assets
(:mod:`revteam.web.assets`) and the security headers (:mod:`revteam.web.middleware`); the
warehouse is opened lazily and read-only (see :mod:`revteam.web.gate`). Uvicorn runs it by its
import string ``revteam.web.app:app_from_env`` (see :mod:`revteam.app.server`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.templating import Jinja2Templates

import revteam
from revteam.web import errors
from revteam.web.assets import assets_router, static_files, vega_bundle
from revteam.web.defined import refuse_stray_defined_on
from revteam.web.deps import get_principal
from revteam.web.middleware import AuthFirst, BodyLimit, HeadAsGet, SecurityHeaders
from revteam.web.runtime import Runtime, WebOptions
from revteam.web.schemas import ErrorOut
from revteam.web.warmer import Warmer

if TYPE_CHECKING:
    from revteam.alerts import Scheduler

log = logging.getLogger("revteam.web")
API_PREFIX = "/api/v1"
TEMPLATES_DIR = Path(__file__).parent / "templates"
ALERTS_SECONDS = 60.0
"""How often each server process runs the alerts (under the lease, so one at a time)."""


def _warm(runtime: Runtime) -> None:
    """Build the chart bundle and the default views (pages and the attribution credit)."""
    from revteam.web.pages import warm_views

    vega_bundle()
    warm_views(runtime)


def alerts_scheduler(runtime: Runtime) -> Scheduler | None:
    """The alerts scheduler of this process (``[alerts] scheduler``): a run every minute.

    Every worker has one; the lease in each run lets one process evaluate at a time. Rules
    read the warehouse through the gate, one rule at a time, so loads still get in.
    """
    if not runtime.settings.alerts.scheduler:
        return None
    from revteam.alerts import AlertRunner, AlertStore, Scheduler

    runner = AlertRunner(AlertStore(runtime.app.db), runtime.gate.workspace, runtime.settings)
    return Scheduler(runner.run, interval=ALERTS_SECONDS)


def templates() -> Jinja2Templates:
    from revteam.web.pages.render import install_filters

    t = Jinja2Templates(directory=TEMPLATES_DIR)
    install_filters(t)
    return t


def create_app(ws_path: Path | str | None = None, *, options: WebOptions | None = None) -> FastAPI:
    """The web app of the workspace at ``ws_path`` (default: ``REVTEAM_WORKSPACE`` or ``.``)."""
    from revteam.web import pages, routes

    opts = options or WebOptions()
    runtime = Runtime(ws_path, opts)

    scheduler = alerts_scheduler(runtime)
    warmer = Warmer(runtime, _warm) if opts.warm else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warmer is not None:
            warmer.start()
        if scheduler is not None:
            scheduler.start()
        yield
        if warmer is not None:
            warmer.stop()
        if scheduler is not None:
            scheduler.stop()
        runtime.close()

    app = FastAPI(
        title="revteam",
        summary="Shared revenue KPIs for Sales and Marketing",
        description="One set of KPI definitions, computed from the same data for both teams. "
        "Authenticate with `Authorization: Bearer <token>` (create tokens on your Account page).",
        version=revteam.__version__,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.warmer = warmer
    app.state.alerts = scheduler
    app.state.templates = templates()
    # Added innermost first: headers on everything, then HEAD, body limits, credentials.
    app.add_middleware(AuthFirst)
    app.add_middleware(BodyLimit, max_bytes=runtime.max_body_bytes, timeout=runtime.body_timeout)
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)
    errors.install(app)
    app.include_router(assets_router)
    app.mount("/static", static_files(), name="static")
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(refuse_stray_defined_on)])
    for router in routes.ROUTERS:
        api.include_router(router)
    api.add_api_route(
        "/openapi.json",
        lambda: _openapi(app),
        include_in_schema=False,
        dependencies=[Depends(get_principal)],
    )
    app.include_router(api)
    for router in pages.ROUTERS:
        app.include_router(router)
    return app


ERROR_STATUSES = {
    "400": "Bad request (the message says what and how to fix it)",
    "401": "Sign-in or API token missing or invalid",
    "403": "The user's role does not allow this",
    "404": "Not found",
    "413": "The request body is larger than the server accepts",
    "422": "Invalid parameters",
    "503": "A data load holds the warehouse, or the server is busy checking passwords",
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the bearer scheme and the error shape on every operation."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = app.openapi()
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token (create one on the Account page).",
    }
    components.setdefault("schemas", {})["ErrorOut"] = ErrorOut.model_json_schema()
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            if path != f"{API_PREFIX}/health":
                operation["security"] = [{"bearer": []}]
            for status, text in ERROR_STATUSES.items():
                operation.setdefault("responses", {}).setdefault(
                    status, {"description": text, **error}
                )
    return schema


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory revteam.web.app:app_from_env`` (reads REVTEAM_WORKSPACE)."""
    return create_app()
