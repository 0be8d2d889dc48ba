"""Sign-in, sign-out and the Account page (one's password and personal API tokens).

The sign-in form is protected against login CSRF with a token bound to a random pre-session
cookie. A successful sign-in always starts a *new* session (no fixation); failures all get the
same message, and an address that failed too often waits (429 with ``Retry-After``), on that
account or on every account (see :mod:`revteam.app.throttle`). A new API token is shown once,
in the response to the form that created it; afterwards only its first characters are listed.
Changing one's password revokes one's API tokens and ends one's other sessions.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from revteam.app import GENERIC_FAILURE
from revteam.exceptions import AuthenticationError, TooManyAttemptsError, UserError
from revteam.web import deps as security
from revteam.web.deps import FormPrincipal, Principal, PrincipalDep, RuntimeDep
from revteam.web.pages.render import render
from revteam.web.runtime import Runtime
from revteam.web.schemas import Id

router = APIRouter(include_in_schema=False)
LOGIN_COOKIE_AGE = 3600
_SAFE_NEXT = re.compile(r"^/(?![/\\])[^\s]*$")


def safe_next(target: str | None) -> str:
    """Only same-site paths: ``//evil.example`` or ``https://…`` would be an open redirect."""
    return target if target and _SAFE_NEXT.match(target) and len(target) < 2000 else "/"


def _start_session(request: Request, runtime: Runtime, user_id: int) -> str:
    """A new session for ``user_id`` (never a reused one: no fixation); returns its id."""
    return runtime.app.sessions.create(
        user_id, ip=security.client_ip(request), user_agent=request.headers.get("user-agent")
    )


def _issue_session_cookie(
    request: Request, runtime: Runtime, response: Response, session_id: str
) -> None:
    """The signed session cookie, living exactly as long as the session itself."""
    security.set_cookie(
        request,
        response,
        security.SESSION_COOKIE,
        security.sign_session(runtime.secret, session_id),
        int(runtime.app.sessions.lifetime.total_seconds()),
    )


def _form(
    request: Request,
    runtime: RuntimeDep,
    *,
    next_url: str,
    email: str = "",
    message: str = "",
    status: int = 200,
) -> Response:
    cookie = request.cookies.get(security.LOGIN_COOKIE) or security.new_login_cookie()
    response = render(
        request,
        "login.html",
        None,
        next_url=next_url,
        email=email,
        message=message,
        login_csrf=security.login_csrf_token(runtime.secret, cookie),
        status_code=status,
    )
    security.set_cookie(request, response, security.LOGIN_COOKIE, cookie, LOGIN_COOKIE_AGE)
    return response


@router.get("/login")
def login_form(request: Request, runtime: RuntimeDep, next: str | None = None) -> Response:
    session_id = security.unsign_session(
        runtime.secret, request.cookies.get(security.SESSION_COOKIE)
    )
    if session_id and runtime.app.sessions.resolve(session_id):
        return RedirectResponse(safe_next(next), status_code=303)
    return _form(request, runtime, next_url=safe_next(next))


@router.post("/login")
def login(
    request: Request,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=400)] = "",
    password: Annotated[str, Form(max_length=2048)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    target = safe_next(next)
    cookie = request.cookies.get(security.LOGIN_COOKIE)
    if not security.login_csrf_ok(runtime.secret, cookie, csrf_token):
        return _form(
            request,
            runtime,
            next_url=target,
            email=email,
            status=400,
            message="The sign-in form expired. Please try again.",
        )
    try:
        user = runtime.app.users.authenticate(email, password, ip=security.client_ip(request))
    except TooManyAttemptsError as exc:
        page = _form(request, runtime, next_url=target, email=email, status=429, message=str(exc))
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except AuthenticationError:
        return _form(
            request, runtime, next_url=target, email=email, status=401, message=GENERIC_FAILURE
        )
    response = RedirectResponse(target, status_code=303)
    _issue_session_cookie(request, runtime, response, _start_session(request, runtime, user.id))
    security.clear_cookie(request, response, security.LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, runtime: RuntimeDep, principal: FormPrincipal) -> Response:
    if principal.session_id:
        runtime.app.sessions.end(principal.session_id)
    response = RedirectResponse("/login", status_code=303)
    security.clear_cookie(request, response, security.SESSION_COOKIE)
    return response


def _page(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    *,
    message: str = "",
    token: str = "",
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "account.html",
        principal,
        nav="account",
        tokens=runtime.app.tokens.list(principal.user.id),
        message=message,
        token=token,
        is_error=status >= 400,
        status_code=status,
    )


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, runtime: RuntimeDep, principal: PrincipalDep) -> HTMLResponse:
    return _page(request, runtime, principal)


@router.post("/account/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    runtime: RuntimeDep,
    principal: FormPrincipal,
    name: Annotated[str, Form(max_length=100)] = "",
    days: Annotated[int | None, Form(ge=1, le=3650)] = None,
) -> HTMLResponse:
    try:
        info, token = runtime.app.tokens.create(
            principal.user.id, name, days=days, actor=principal.actor
        )
    except UserError as exc:
        return _page(request, runtime, principal, message=str(exc), status=400)
    return _page(
        request,
        runtime,
        principal,
        token=token,
        message=f"Token “{info.name}” created. Copy it now: it is shown only once.",
    )


@router.post("/account/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(
    request: Request, runtime: RuntimeDep, principal: FormPrincipal, token_id: Id
) -> HTMLResponse:
    info = runtime.app.tokens.revoke(principal.user.id, token_id, actor=principal.actor)
    return _page(request, runtime, principal, message=f"Token “{info.name}” revoked.")


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    runtime: RuntimeDep,
    principal: FormPrincipal,
    current: Annotated[str, Form(max_length=2048)] = "",
    new: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    try:
        runtime.app.users.change_password(principal.user.id, current, new, ip=principal.ip)
    except (AuthenticationError, UserError) as exc:
        return _page(request, runtime, principal, message=str(exc), status=400)
    runtime.app.sessions.end_all(principal.user.id)  # sign out every other browser
    session_id = _start_session(request, runtime, principal.user.id)
    fresh = Principal(
        principal.user,
        "session",
        session_id,
        security.csrf_token(runtime.secret, session_id),
        principal.ip,
    )
    response = _page(
        request,
        runtime,
        fresh,
        message="Password changed; your other sessions ended and your API tokens were revoked.",
    )
    _issue_session_cookie(request, runtime, response, session_id)
    return response
