"""``/review``: the joint review's pack in the app, its downloads, and its action items.

The pack is the API's (:func:`revteam.web.routes.review.pack_request`, same cache entry), shown
inline (the app forbids framing) with its own scoped styles. Editors add action items here,
owners (and admins) close them; viewers read. Every change lands in the audit log.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as FastPath
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from revteam.exceptions import RevteamError
from revteam.metrics import periods as P
from revteam.review.actions import MAX_NOTE, MAX_TITLE, ActionSpec
from revteam.review.render import to_fragment
from revteam.web.deps import FormPrincipal, Principal, PrincipalDep, RuntimeDep
from revteam.web.pages.goals import check_editor_form, refusal
from revteam.web.pages.render import Page, render
from revteam.web.routes.review import check_metric, document, pack_request
from revteam.web.runtime import Runtime
from revteam.web.schemas import Id

router = APIRouter(include_in_schema=False)
EditorForm = Annotated[Principal, Depends(check_editor_form)]
GRAINS = ("month", "quarter", "week")


def default_period(page: Page) -> str:
    """The newest complete month: what a monthly review meets about."""
    as_of = page.as_of()
    start = P.latest_complete(as_of, "month", page.runtime.settings.fiscal_year_start_month, None)
    return P.label(start, "month", page.runtime.settings.fiscal_year_start_month)


def _page(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    period: str,
    grain: str | None,
    *,
    message: str = "",
    status: int = 200,
) -> HTMLResponse:
    page = Page(runtime)
    chosen = period or default_period(page)
    key, build = pack_request(runtime, chosen, grain)
    pack = page.read(key, build)
    body = page.read((*key, "fragment"), lambda _: to_fragment(pack))  # type: ignore[misc]
    users = [u for u in runtime.app.users.list() if u.is_active]
    items = runtime.actions.list(status=None, limit=200)
    return render(
        request,
        "review.html",
        principal,
        nav="review",
        page=page,
        status_code=status,
        pack=pack,
        body=Markup(body),  # noqa: S704 (our own template's output, autoescaped)
        period=chosen,
        grain=grain or "",
        grains=GRAINS,
        items=items,
        users=users,
        metric_ids=runtime.definitions.catalogue.ids,
        can_edit=principal.can("editor"),
        message=message,
        failed=status >= 400,
        today=pack.as_of.date(),
    )


@router.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    period: Annotated[str, Query(max_length=12)] = "",
    grain: Annotated[str, Query(pattern="^(|week|month|quarter)$")] = "",
    saved: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    return _page(request, runtime, principal, period, grain or None, message=saved)


@router.get("/review/pack.{suffix}")
def download(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    suffix: Annotated[str, FastPath(pattern="^(html|md|pdf)$")],
    period: Annotated[str, Query(min_length=4, max_length=12)],
    grain: Annotated[str, Query(pattern="^(|week|month|quarter)$")] = "",
) -> Response:
    fmt = {"html": "html", "md": "markdown", "pdf": "pdf"}[suffix]
    pack, data = document(runtime, period, grain or None, fmt)
    media = {"html": "text/html", "markdown": "text/markdown", "pdf": "application/pdf"}[fmt]
    name = f"revenue-review-{pack.period}.{suffix}"
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/review/actions", response_class=HTMLResponse)
def add_action(
    request: Request,
    runtime: RuntimeDep,
    principal: EditorForm,
    title: Annotated[str, Form(max_length=MAX_TITLE)],
    owner: Annotated[str, Form(max_length=320)],
    due: Annotated[str, Form(max_length=10)] = "",
    metric: Annotated[str, Form(max_length=64)] = "",
    segment_dimension: Annotated[str, Form(max_length=64)] = "",
    segment_value: Annotated[str, Form(max_length=200)] = "",
    note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
    period: Annotated[str, Form(max_length=12)] = "",
    grain: Annotated[str, Form(pattern="^(|week|month|quarter)$")] = "",
) -> Response:
    """An editor records a decision; it shows in every pack until its owner closes it."""
    try:
        when = dt.date.fromisoformat(due) if due.strip() else None
    except ValueError:
        return _page(
            request,
            runtime,
            principal,
            period,
            grain or None,
            message=f"The due date {due!r} is not a date such as 2026-04-30.",
            status=422,
        )
    segment = (
        {segment_dimension.strip(): segment_value.strip()} if segment_dimension.strip() else {}
    )
    try:
        check_metric(runtime, metric.strip() or None)
        item = runtime.actions.add(
            ActionSpec(title, owner, due=when, metric=metric or None, segment=segment, note=note),
            actor=principal.actor,
            role=principal.user.role,
        )
    except RevteamError as exc:
        return _page(
            request,
            runtime,
            principal,
            period,
            grain or None,
            message=str(exc),
            status=refusal(exc),
        )
    return RedirectResponse(_back(period, grain, f"Added action item {item.id}."), 303)


@router.post("/review/actions/{item_id}/{verb}", response_class=HTMLResponse)
def change_status(
    request: Request,
    runtime: RuntimeDep,
    principal: FormPrincipal,
    item_id: Id,
    verb: Annotated[str, FastPath(pattern="^(close|reopen)$")],
    expected_version: Annotated[int, Form(ge=1)],
    period: Annotated[str, Form(max_length=12)] = "",
    grain: Annotated[str, Form(pattern="^(|week|month|quarter)$")] = "",
) -> Response:
    """Its owner (or an admin) closes or reopens an item; others get 403."""
    act = runtime.actions.close if verb == "close" else runtime.actions.reopen
    try:
        act(
            item_id,
            actor=principal.actor,
            role=principal.user.role,
            expected_version=expected_version,
        )
    except RevteamError as exc:
        return _page(
            request,
            runtime,
            principal,
            period,
            grain or None,
            message=str(exc),
            status=refusal(exc),
        )
    done = "Closed" if verb == "close" else "Reopened"
    return RedirectResponse(_back(period, grain, f"{done} action item {item_id}."), 303)


def _back(period: str, grain: str, message: str) -> str:
    from urllib.parse import urlencode

    params = {k: v for k, v in (("period", period), ("grain", grain), ("saved", message)) if v}
    return "/review?" + urlencode(params)
