"""Admin pages: the data (loads, row counts, version, quarantine) and user management.

A generated password is shown once, in the response to the form that created it, and never
stored or logged anywhere but as an argon2 hash.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from revteam.app import ROLES, TEAMS, current_revision, head_revision
from revteam.exceptions import UserError
from revteam.web.deps import AdminDep, AdminForm, Principal, RuntimeDep
from revteam.web.pages.render import Page, render
from revteam.web.schemas import Id
from revteam.workspace import Workspace

router = APIRouter(include_in_schema=False)
QUARANTINE_ROWS = 100


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
    return render(
        request,
        "users.html",
        principal,
        nav="users",
        users=runtime.app.users.list(),
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
    return _users_page(request, runtime, principal, message=f"Saved {user.email}.")


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
        message=f"New password for {user.email}; their sessions were ended.",
    )
