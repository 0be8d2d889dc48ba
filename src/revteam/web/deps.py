"""Who is calling, with which filters: cookies, CSRF tokens and the routes' shared dependencies.

A caller is identified by an ``Authorization: Bearer`` API token, else by the session cookie:
a random id plus its HMAC under the workspace's secret key (a forged or truncated cookie is
refused before the database is asked), ``HttpOnly``, ``SameSite=Lax``, and ``Secure`` when the
app is served over https (directly, or behind a proxy that says so).

CSRF tokens are HMACs too: of the session id for signed-in forms (worthless in another
session), and of a random pre-session cookie for the sign-in form. Cookie-authenticated
requests that change something must carry one (form field ``csrf_token`` or header
``X-CSRF-Token``); token-authenticated ones need none, as browsers never attach bearer tokens
on their own. Shared dependencies are ``Annotated`` aliases (``PrincipalDep``, ``AdminDep`` …).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Query, Request, Response

from revteam.app import ROLE_RANK, Actor, UserInfo
from revteam.exceptions import (
    AuthenticationError,
    CsrfError,
    PermissionDeniedError,
)
from revteam.metrics.request import MAX_VALUES, NULL_VALUE, Where
from revteam.web.filters import ViewFilters, parse_where
from revteam.web.gate import CALLER
from revteam.web.runtime import Runtime

SESSION_COOKIE = "revteam_session"
LOGIN_COOKIE = "revteam_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def _mac(secret: bytes, purpose: str, value: str) -> str:
    digest = hmac.new(secret, f"{purpose}|{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def sign_session(secret: bytes, session_id: str) -> str:
    return f"{session_id}.{_mac(secret, 'session', session_id)}"


def unsign_session(secret: bytes, cookie: str | None) -> str | None:
    """The session id of a cookie whose signature checks out, else ``None``."""
    if not cookie or "." not in cookie or len(cookie) > 200:
        return None
    session_id, _, mac = cookie.rpartition(".")
    return session_id if hmac.compare_digest(mac, _mac(secret, "session", session_id)) else None


def csrf_token(secret: bytes, session_id: str) -> str:
    return _mac(secret, "csrf", session_id)


def login_csrf_token(secret: bytes, login_cookie: str) -> str:
    return _mac(secret, "login", login_cookie)


def login_csrf_ok(secret: bytes, login_cookie: str | None, token: str | None) -> bool:
    if not login_cookie or not token:
        return False
    return hmac.compare_digest(str(token), login_csrf_token(secret, login_cookie))


def csrf_ok(secret: bytes, session_id: str, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(str(token), csrf_token(secret, session_id))


def new_login_cookie() -> str:
    return secrets.token_urlsafe(24)


def is_https(request: Request) -> bool:
    """Whether the browser reached us over https (uvicorn applies trusted proxy headers)."""
    return request.url.scheme == "https"


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=is_https(request))


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@dataclass(frozen=True)
class Principal:
    """The signed-in user of a request and how they proved it."""

    user: UserInfo
    via: Literal["session", "token"]
    session_id: str | None = None
    csrf: str = ""
    ip: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.user.email, self.user.id, self.ip)

    def can(self, role: str) -> bool:
        return ROLE_RANK[self.user.role] >= ROLE_RANK[role]


def get_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """The caller, or :class:`AuthenticationError` (pages turn it into a sign-in redirect)."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    ip = client_ip(request)
    token = bearer_token(request)
    if token is not None:
        user = runtime.app.tokens.resolve(token)
        if user is None:
            raise AuthenticationError(
                "Invalid, expired or revoked API token. Create a new one on your Account page."
            )
        principal = Principal(user, "token", ip=ip)
    else:
        session_id = unsign_session(runtime.secret, request.cookies.get(SESSION_COOKIE))
        user = runtime.app.sessions.resolve(session_id) if session_id else None
        if user is None or session_id is None:
            raise AuthenticationError(
                "Sign in required: sign in at /login, or send an API token as "
                "'Authorization: Bearer <token>'."
            )
        csrf = csrf_token(runtime.secret, session_id)
        principal = Principal(user, "session", session_id, csrf, ip)
        if request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
            header = request.headers.get(CSRF_HEADER)
            if not csrf_ok(runtime.secret, session_id, header):
                raise CsrfError
    request.state.principal = principal
    return principal


async def bind_caller(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """The caller, also named to the warehouse gate, which bounds the requests each user queues.

    Async on purpose: it runs in the request's own context, which the endpoint's thread
    inherits, so the gate sees the caller without every view passing it down.
    """
    CALLER.set(f"user:{principal.user.id}")
    return principal


PrincipalDep = Annotated[Principal, Depends(bind_caller)]


def require(role: str) -> Callable[[Request, Principal], Principal]:
    """A dependency that lets only ``role`` and stronger roles through."""

    def check(request: Request, principal: PrincipalDep) -> Principal:
        if not principal.can(role):
            action = f"{request.method} {request.url.path}"
            raise PermissionDeniedError(action, role, principal.user.role)
        return principal

    return check


AdminDep = Annotated[Principal, Depends(require("admin"))]
EditorDep = Annotated[Principal, Depends(require("editor"))]


async def _verify_form(request: Request, principal: Principal) -> Principal:
    """Page forms: the posted ``csrf_token`` must belong to this session."""
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if principal.via == "session" and principal.session_id is not None:
        secret = request.app.state.runtime.secret
        if not csrf_ok(secret, principal.session_id, token if isinstance(token, str) else None):
            raise CsrfError
    return principal


async def check_form_csrf(request: Request, principal: PrincipalDep) -> Principal:
    return await _verify_form(request, principal)


async def check_admin_form(request: Request, principal: AdminDep) -> Principal:
    return await _verify_form(request, principal)


FormPrincipal = Annotated[Principal, Depends(check_form_csrf)]
AdminForm = Annotated[Principal, Depends(check_admin_form)]


def get_filters(request: Request, runtime: RuntimeDep) -> ViewFilters:
    return ViewFilters.parse(request.query_params, years=runtime.settings.plausible_years)


FiltersDep = Annotated[ViewFilters, Depends(get_filters)]


def _where_dependency() -> Callable[..., Where]:
    """A dependency with one documented, repeatable query parameter per dimension."""
    from revteam.metrics import BREAKDOWNS, DIMENSIONS

    described = {**DIMENSIONS, **BREAKDOWNS}
    params = [
        inspect.Parameter(
            dim,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                list[str] | None,
                Query(
                    description=f"Keep {text.lower()} equal to one of these (repeatable; "
                    f"{NULL_VALUE} keeps records without one).",
                    max_length=MAX_VALUES,
                ),
            ],
        )
        for dim, text in described.items()
    ]

    def where(**chosen: list[str] | None) -> Where:
        return parse_where({d: v for d, v in chosen.items() if v})

    where.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return where


WhereDep = Annotated[Where, Depends(_where_dependency())]
