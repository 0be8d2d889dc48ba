"""Admin pages: the data (loads, row counts, version, quarantine), users and API tokens.

A generated password is shown once, in the response to the form that created it, and never
stored or logged anywhere but as an argon2 hash. The Users page also shows which addresses
are waiting after failed sign-ins, with a button to unlock an account; the Tokens page lists
every user's API tokens with their last use, and revokes any of them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from revteam.app import ROLES, TEAMS, current_revision, head_revision
from revteam.exceptions import UserError
from revteam.web.deps import AdminDep, AdminForm, Principal, RuntimeDep
from revteam.web.pages.render import Page, render
from revteam.web.schemas import MAX_ID, Id
from revteam.workspace import Workspace

router = APIRouter(include_in_schema=False)
QUARANTINE_ROWS = 100
TOKEN_ROWS = 500


def _data(ws: Workspace, table: str | None) -> dict[str, Any]:
    status = ws.status()
    refused = ws.ingest.quarantine(table=table, limit=QUARANTINE_ROWS).to_pylist()
    return {"status": status, "runs": ws.ingest.runs(limit=30).to_pylist(), "refused": refused}


@router.get("/data", response_class=HTMLResponse)
def data_page(
    request: Request,
    runtime: RuntimeDep,
    principal: AdminDep,
    table: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    page = Page(runtime)
    facts = page.read(("data", table), lambda ws: _data(ws, table))
    app = {
        "revision": current_revision(runtime.app.db),
        "head": head_revision(),
        "url": runtime.app.db.display_url,
        "users": runtime.app.users.count(),
    }
    cache = {
        "entries": len(runtime.cache),
        "megabytes": runtime.cache.bytes / (1 << 20),
        "budget": runtime.cache.max_bytes / (1 << 20),
        "hits": runtime.cache.hits,
        "misses": runtime.cache.misses,
        "opened": runtime.gate.opened,
        "open": runtime.gate.is_open,
        "idle": runtime.options.idle_seconds,
    }
    return render(
        request,
        "data.html",
        principal,
        nav="data",
        page=page,
        table=table,
        app=app,
        cache=cache,
        **facts,
    )


def _users_page(
    request: Request,
    runtime: RuntimeDep,
    principal: Principal,
    *,
    message: str = "",
    secret: tuple[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    users = runtime.app.users.list()
    return render(
        request,
        "users.html",
        principal,
        nav="users",
        users=users,
        user_ids={u.email: u.id for u in users},
        throttles=runtime.app.throttle.recent(),
        now=runtime.app.throttle.clock(),
        audit=runtime.app.audit.list(limit=50),
        roles=ROLES,
        teams=TEAMS,
        message=message,
        secret=secret,
        is_error=status >= 400,
        status_code=status,
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, runtime: RuntimeDep, principal: AdminDep) -> HTMLResponse:
    return _users_page(request, runtime, principal)


Text = Annotated[str, Form(max_length=320)]


@router.post("/admin/users", response_class=HTMLResponse)
def add_user(
    request: Request,
    runtime: RuntimeDep,
    principal: AdminForm,
    email: Text,
    name: Text = "",
    role: Text = "viewer",
    team: Text = "revops",
) -> HTMLResponse:
    try:
        user, password = runtime.app.users.add(
            email, name=name, role=role, team=team, actor=principal.actor
        )
    except UserError as exc:
        return _users_page(request, runtime, principal, message=str(exc), status=400)
    assert password is not None
    return _users_page(
        request, runtime, principal, message=f"Added {user.email}.", secret=(user.email, password)
    )


@router.post("/admin/users/{user_id}", response_class=HTMLResponse)
def update_user(
    request: Request,
    runtime: RuntimeDep,
    principal: AdminForm,
    user_id: Id,
    role: Text = "",
    team: Text = "",
    active: Annotated[str, Form(pattern="^(|yes|no)$")] = "",
) -> HTMLResponse:
    try:
        user = runtime.app.users.update(
            user_id,
            role=role or None,
            team=team or None,
            active=None if not active else active == "yes",
            actor=principal.actor,
        )
    except UserError as exc:
        return _users_page(request, runtime, principal, message=str(exc), status=400)
    done = " Their sessions ended and their API tokens were revoked." if active == "no" else ""
    return _users_page(request, runtime, principal, message=f"Saved {user.email}.{done}")


@router.post("/admin/users/{user_id}/reset-password", response_class=HTMLResponse)
def reset_password(
    request: Request, runtime: RuntimeDep, principal: AdminForm, user_id: Id
) -> HTMLResponse:
    user, password = runtime.app.users.reset_password(user_id, actor=principal.actor)
    assert password is not None
    return _users_page(
        request,
        runtime,
        principal,
        secret=(user.email, password),
        message=f"New password for {user.email}; their sessions ended, their API tokens were "
        "revoked and their sign-in unlocked.",
    )


@router.post("/admin/users/{user_id}/unlock", response_class=HTMLResponse)
def unlock_user(
    request: Request, runtime: RuntimeDep, principal: AdminForm, user_id: Id
) -> HTMLResponse:
    user, cleared = runtime.app.users.unlock(user_id, actor=principal.actor)
    message = f"Unlocked {user.email}: every address may try signing in again ({cleared} reset)."
    return _users_page(request, runtime, principal, message=message)


def _tokens_page(
    request: Request,
    runtime: RuntimeDep,
    principal: Principal,
    *,
    user_id: int | None = None,
    message: str = "",
) -> HTMLResponse:
    tokens, total = runtime.app.tokens.list_all(user_id=user_id, limit=TOKEN_ROWS)
    return render(
        request,
        "admin_tokens.html",
        principal,
        nav="users",
        tokens=tokens,
        total=total,
        users=runtime.app.users.list(),
        user_id=user_id,
        message=message,
    )


@router.get("/admin/tokens", response_class=HTMLResponse)
def tokens_page(
    request: Request,
    runtime: RuntimeDep,
    principal: AdminDep,
    user_id: Annotated[str, Query(max_length=10, pattern=r"^\d*$")] = "",
) -> HTMLResponse:
    """``user_id`` may be blank: the form's "everyone"."""
    chosen = int(user_id) if user_id and 0 < int(user_id) <= MAX_ID else None
    return _tokens_page(request, runtime, principal, user_id=chosen)


@router.post("/admin/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(
    request: Request, runtime: RuntimeDep, principal: AdminForm, token_id: Id
) -> HTMLResponse:
    token = runtime.app.tokens.revoke_any(token_id, actor=principal.actor)
    message = f"Revoked token “{token.name}” of {token.user_email}."
    return _tokens_page(request, runtime, principal, message=message)
