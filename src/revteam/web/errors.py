"""The one place where errors become HTTP responses: JSON under ``/api``, pages elsewhere.

Library code raises :class:`~revteam.exceptions.RevteamError` subclasses that already say what
was wrong and how to fix it; this module only picks the status code and the format. A page
that needs a sign-in redirects to the sign-in form instead of showing an error.

Messages never show the server's files (OWASP ASVS 7.4.1): a server-side failure (500, or an
unreachable application database) gets a generic text and an error id, with the detail in the
server log under that id; other messages name files relative to the workspace.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from revteam.exceptions import (
    ActionItemConflictError,
    AlertDeliveryError,
    AlertRunnerBusyError,
    AppDatabaseError,
    AuthenticationError,
    ConfigError,
    CsrfError,
    GoalConflictError,
    HashingBusyError,
    LimitExceededError,
    PermissionDeniedError,
    ProposalConflictError,
    QueryTimeoutError,
    RevteamError,
    ServerBusyError,
    TooManyAttemptsError,
    UnknownActionItemError,
    UnknownAlertRuleError,
    UnknownEntityError,
    UnknownGoalError,
    UnknownMetricError,
    UnknownProposalError,
    UnknownUserError,
    UserExistsError,
    WarehouseBusyError,
)

log = logging.getLogger("revteam.web")

STATUS: tuple[tuple[type[Exception], int], ...] = (
    (TooManyAttemptsError, 429),
    (AuthenticationError, 401),
    (CsrfError, 403),
    (PermissionDeniedError, 403),
    (UnknownMetricError, 404),
    (UnknownUserError, 404),
    (UnknownGoalError, 404),
    (GoalConflictError, 409),
    (UnknownActionItemError, 404),
    (UnknownProposalError, 404),
    (ProposalConflictError, 409),
    (UnknownAlertRuleError, 404),
    (UnknownEntityError, 404),
    (ActionItemConflictError, 409),
    (UserExistsError, 409),
    (WarehouseBusyError, 503),
    (QueryTimeoutError, 503),
    (ServerBusyError, 503),
    (HashingBusyError, 503),
    (AppDatabaseError, 503),
    (AlertRunnerBusyError, 503),
    (AlertDeliveryError, 502),
    (ConfigError, 500),
    (RevteamError, 400),
)
"""First match wins; everything else a client can cause is a 400."""

TITLES = {
    400: "Bad request",
    401: "Sign-in required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    413: "Request too large",
    422: "Invalid parameters",
    429: "Too many attempts",
    500: "Server problem",
    503: "Busy",
}


def status_of(exc: Exception) -> int:
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 500)


def code_of(exc: Exception) -> str:
    """``UnknownMetricError`` → ``unknown_metric``: a stable machine-readable error code."""
    name = type(exc).__name__.removesuffix("Error") or "error"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(
    request: Request, status: int, code: str, message: str, **extra: Any
) -> Response:
    headers: dict[str, str] = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    if wants_json(request):
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="revteam"'
        body = {"error": code, "message": message, "status": status, **extra}
        return JSONResponse(body, status_code=status, headers=headers)
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    templates = request.app.state.templates
    context = {"status": status, "title": TITLES.get(status, "Error"), "message": message}
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request, "error.html", context, status_code=status, headers=headers
    )


def without_paths(request: Request, text: str) -> str:
    """``text`` with the workspace folder left out of the paths it names."""
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        return text
    for root in sorted({str(runtime.root), os.path.realpath(runtime.root)}, key=len)[::-1]:
        text = text.replace(root + os.sep, "").replace(root, "the workspace")
    return text


def _logged(request: Request, exc: BaseException, *, trace: bool) -> str:
    """Log ``exc`` under a new error id, which the user is shown instead of the detail."""
    error_id = secrets.token_hex(4)
    log.error(
        "Error %s: %s %s failed: %s",
        error_id,
        request.method,
        request.url.path,
        exc,
        exc_info=exc if trace else None,
    )
    return error_id


def _server_fault(error_id: str) -> str:
    return (
        f"Something went wrong on the server; it was logged as error {error_id}. Try again, "
        "and tell your revteam admin (quoting the error id) if it keeps happening."
    )


def response_for(request: Request, exc: RevteamError) -> Response:
    """The response to a revteam error: its status, its code and a message fit to show."""
    status = status_of(exc)
    extra: dict[str, Any] = {}
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int):
        extra["retry_after"] = retry_after
    if isinstance(exc, LimitExceededError):  # for programs: which limit, how far over
        extra |= {"limit": exc.limit, "requested": exc.requested, "maximum": exc.maximum}
    if status == 500 or isinstance(exc, AppDatabaseError):
        error_id = extra["error_id"] = _logged(request, exc, trace=False)
        return error_response(request, status, code_of(exc), _server_fault(error_id), **extra)
    return error_response(request, status, code_of(exc), without_paths(request, str(exc)), **extra)


async def _revteam_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RevteamError)
    return response_for(request, exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": str(e.get("msg", ""))}
        for e in exc.errors()
    ]
    text = "; ".join(f"{p['where']}: {p['problem']}" for p in problems)
    return error_response(
        request, 422, "invalid_parameters", f"Invalid request: {text}", problems=problems
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = str(exc.detail) if exc.detail else TITLES.get(exc.status_code, "Error")
    if exc.status_code == 404:
        message = (
            f"Nothing at {request.url.path}. The API lives under /api/v1 "
            "(see its OpenAPI document)."
        )
    code = re.sub(r"\W+", "_", TITLES.get(exc.status_code, "error").lower())
    return error_response(request, exc.status_code, code, message)


async def _unexpected(request: Request, exc: Exception) -> Response:
    error_id = _logged(request, exc, trace=True)
    return error_response(request, 500, "server_error", _server_fault(error_id), error_id=error_id)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RevteamError, _revteam_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
