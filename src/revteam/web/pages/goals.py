"""The Goals page: every goal with its pacing and chart, the forms that set them, their history.

Reading paces the goals shown through the cache (:meth:`Page.read`, keyed by the goals' ids
and versions and the as-of day, as the Overview's target slots are), at most
:data:`~revteam.web.views.goals.MAX_PAGE` goals a page. Writing needs only the application
database (``runtime.goals``), never the warehouse: a form posts, the goal is saved, and the
browser is sent on to the goal's page (post, redirect, get). A refused change shows the page
again with the message, its status code and the values as typed. The pages are rendered per
request (their forms carry the session's CSRF token), only the pacing is cached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field

from revteam.app import TEAMS
from revteam.exceptions import GoalConflictError, RevteamError, UnknownGoalError
from revteam.goals import Goal, Pacing
from revteam.goals.component import pacer_for
from revteam.goals.model import MAX_NOTE, MAX_OWNERS_TEXT, MAX_SEGMENT, MAX_TEXT
from revteam.metrics import MetricSpec
from revteam.metrics import periods as P
from revteam.web.deps import EditorDep, Principal, PrincipalDep, RuntimeDep, check_form_csrf
from revteam.web.errors import status_of
from revteam.web.filters import FILTER_DIMENSIONS
from revteam.web.pages.render import Page, render
from revteam.web.runtime import Runtime
from revteam.web.schemas import MAX_ID, Id, Offset
from revteam.web.views import goals as views
from revteam.web.views.goals import MAX_PAGE, PAGE_SIZE, GoalFilters, GoalForm

router = APIRouter(include_in_schema=False)
OWNER_ORDER = ("shared", "marketing", "sales")


async def check_editor_form(request: Request, principal: EditorDep) -> Principal:
    """Goal forms: editors and admins, with this session's CSRF token."""
    return await check_form_csrf(request, principal)


EditorForm = Annotated[Principal, Depends(check_editor_form)]
Version = Annotated[int, Form(ge=1, le=MAX_ID)]


def goal_form(
    metric: Annotated[str, Form(max_length=64)] = "",
    period: Annotated[str, Form(max_length=20)] = "",
    target: Annotated[str, Form(max_length=40)] = "",
    stretch: Annotated[str, Form(max_length=40)] = "",
    segment_dimension: Annotated[
        list[Annotated[str, Field(max_length=64)]] | None, Form(max_length=MAX_SEGMENT)
    ] = None,
    segment_value: Annotated[
        list[Annotated[str, Field(max_length=MAX_TEXT)]] | None, Form(max_length=MAX_SEGMENT)
    ] = None,
    owners: Annotated[str, Form(max_length=MAX_OWNERS_TEXT)] = "",
    direction: Annotated[str, Form(pattern="^(|higher|lower)$")] = "",
    note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
) -> GoalForm:
    """The goal form's fields, as typed (checked when the goal is set)."""
    return views.posted_form(
        metric=metric,
        period=period,
        target=target,
        stretch=stretch,
        dimensions=segment_dimension or [],
        values=segment_value or [],
        owners=owners,
        direction=direction,
        note=note,
    )


GoalFormDep = Annotated[GoalForm, Depends(goal_form)]


# -- reading -----------------------------------------------------------------------------------
def pace(page: Page, goals: Sequence[Goal], as_of: dt.date) -> list[Pacing]:
    """The goals' pacing, cached under their ids and versions and the as-of day."""
    if not goals:
        return []
    chosen = tuple(goals)
    key = ("goal-pacing", tuple((g.id, g.version) for g in chosen), as_of)
    settings = page.runtime.settings
    paced: list[Pacing] = page.read(
        key, lambda ws: pacer_for(ws.metrics, ws.stats, settings).pace(chosen, as_of=as_of)
    )
    return paced


def _cards(
    runtime: Runtime, paced: Sequence[Pacing], specs: Mapping[str, MetricSpec]
) -> list[views.GoalCard]:
    currency, level = runtime.settings.currency, runtime.settings.goals.level
    return [views.card(p, specs.get(p.goal.metric), currency=currency, level=level) for p in paced]


def _form_context(
    runtime: Runtime, principal: Principal, as_of: dt.date, catalogue: Mapping[str, MetricSpec]
) -> dict[str, Any]:
    """What the goal form needs: the catalogue by owners, dimensions, likely periods."""
    specs = list(catalogue.values())
    fy = runtime.settings.fiscal_year_start_month
    month, quarter = P.floor(as_of, "month", fy), P.floor(as_of, "quarter", fy)
    periods = [
        P.label(quarter, "quarter", fy),
        P.label(P.shift(quarter, "quarter", 1), "quarter", fy),
        P.label(month, "month", fy),
        P.label(P.shift(month, "month", 1), "month", fy),
        P.label(P.floor(as_of, "year", fy), "year", fy),
    ]
    return {
        "can_edit": principal.can("editor"),
        "metric_groups": [(o, [s for s in specs if s.owners == o]) for o in OWNER_ORDER],
        "metric_ids": {s.id for s in specs},
        "dimensions": FILTER_DIMENSIONS,
        "period_choices": periods,
        "teams": TEAMS,
        "currency": runtime.settings.currency,
        "level": runtime.settings.goals.level,
        "pacing_settings": runtime.settings.goals,
    }


def _list_page(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    filters: GoalFilters,
    *,
    form: GoalForm | None = None,
    message: str = "",
    deleted: int | None = None,
    status: int = 200,
) -> HTMLResponse:
    page = Page(runtime)
    as_of = page.as_of()
    specs = runtime.definitions.catalogue.specs  # read once: each read stats the folder
    every = runtime.goals.list()
    chosen = views.ordered([g for g in every if filters.matches(g)], as_of.date())
    shown = chosen[filters.offset : filters.offset + filters.limit]
    cards = _cards(runtime, pace(page, shown, as_of.date()), specs)
    if filters.status:
        cards = [c for c in cards if c.pacing.status == filters.status]
    metrics = {g.metric for g in every} | ({filters.metric} if filters.metric else set())
    with_goals = sorted(metrics, key=lambda m: _label(specs.get(m), m))
    after = filters.offset + filters.limit
    return render(
        request,
        "goals.html",
        principal,
        nav="goals",
        page=page,
        as_of=as_of,
        groups=views.grouped(cards),
        shown=len(cards),
        total=len(chosen),
        first=filters.offset + 1,
        last=filters.offset + len(shown),
        prev_url=filters.url(offset=max(0, filters.offset - filters.limit))
        if filters.offset
        else "",
        next_url=filters.url(offset=after) if after < len(chosen) else "",
        goal_filters=filters,
        metric_choices=[(m, _label(specs.get(m), m)) for m in with_goals],
        statuses=views.STATUS_LABELS,
        form=form or GoalForm(),
        message=message,
        deleted=deleted,
        is_error=status >= 400,
        status_code=status,
        **_form_context(runtime, principal, as_of.date(), specs),
    )


def _label(spec: MetricSpec | None, metric: str) -> str:
    return spec.label if spec else metric


def _goal_page(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    goal_id: int,
    *,
    form: GoalForm | None = None,
    message: str = "",
    status: int = 200,
) -> HTMLResponse:
    entries = runtime.goals.history(goal_id)
    try:
        goal: Goal | None = runtime.goals.get(goal_id)
    except UnknownGoalError:
        if not entries:
            raise
        goal = None  # deleted: its history stays
    page = Page(runtime)
    as_of = page.as_of()
    specs = runtime.definitions.catalogue.specs
    card = _cards(runtime, pace(page, [goal], as_of.date()), specs)[0] if goal else None
    currency = runtime.settings.currency
    if goal and form is None:
        form = views.form_of(goal, specs.get(goal.metric))
    return render(
        request,
        "goal.html",
        principal,
        nav="goals",
        page=page,
        as_of=as_of,
        goal_id=goal_id,
        goal=goal,
        card=card,
        gone=None if goal else entries[-1],
        gone_text=views.describe(entries[-1].before or {}) if not goal else "",
        history=views.history(entries, specs, currency=currency),
        form=form or GoalForm(),
        message=message,
        is_error=status >= 400,
        status_code=status,
        **_form_context(runtime, principal, as_of.date(), specs),
    )


@router.get("/goals", response_class=HTMLResponse)
def goals_page(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    metric: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(pattern="^(|on_track|at_risk|off_track)$")] = "",
    period: Annotated[str, Query(max_length=20)] = "",
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = PAGE_SIZE,
    deleted: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> HTMLResponse:
    filters = GoalFilters(metric, status, period, offset, limit)
    message, gone = "", None
    entries = runtime.goals.history(deleted) if deleted else []
    if entries and entries[-1].action == "deleted":
        message, gone = (
            f"Deleted goal {deleted}, {views.describe(entries[-1].before or {})}.",
            deleted,
        )
    return _list_page(request, runtime, principal, filters, message=message, deleted=gone)


@router.get("/goals/{goal_id}", response_class=HTMLResponse)
def goal_page(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    goal_id: Id,
    saved: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    """One goal: its card and chart, its history, and (editors) the forms that change it."""
    message = "Saved." if saved else ""
    return _goal_page(request, runtime, principal, goal_id, message=message)


# -- changing (editors and admins) ---------------------------------------------------------------
def refusal(exc: RevteamError) -> int:
    """The status of a refusal the form shows; anything else goes to the error handler."""
    status = status_of(exc)
    if status >= 500 or status in (401, 403, 404):
        raise exc
    return status


@router.post("/goals", response_class=HTMLResponse)
def set_goal(
    request: Request, runtime: RuntimeDep, principal: EditorForm, form: GoalFormDep
) -> Response:
    """Create the goal, or change the one of the same metric, period and segment."""
    try:
        goal = runtime.goals.set(form.spec(), actor=principal.actor)
    except RevteamError as exc:
        status = refusal(exc)
        filters = GoalFilters()
        return _list_page(
            request, runtime, principal, filters, form=form, message=str(exc), status=status
        )
    return RedirectResponse(f"/goals/{goal.id}?saved=true", status_code=303)


@router.post("/goals/{goal_id}", response_class=HTMLResponse)
def change_goal(
    request: Request,
    runtime: RuntimeDep,
    principal: EditorForm,
    goal_id: Id,
    form: GoalFormDep,
    expected_version: Version,
) -> Response:
    """Every field is replaced; a version other than ``expected_version`` is refused (409)."""
    form = replace(form, expected_version=expected_version)
    try:
        runtime.goals.set(
            form.spec(), actor=principal.actor, goal_id=goal_id, expected_version=expected_version
        )
    except RevteamError as exc:
        status, message = refusal(exc), str(exc)
        if isinstance(exc, GoalConflictError):
            now = runtime.goals.get(goal_id).version
            if now != expected_version:  # the form keeps the values, now against the new version
                form = replace(form, expected_version=now)
                message += (
                    " The goal as it is now is shown here; the form keeps your values: save "
                    "again to replace it."
                )
        return _goal_page(
            request, runtime, principal, goal_id, form=form, message=message, status=status
        )
    return RedirectResponse(f"/goals/{goal_id}?saved=true", status_code=303)


@router.post("/goals/{goal_id}/delete", response_class=HTMLResponse)
def delete_goal(
    request: Request,
    runtime: RuntimeDep,
    principal: EditorForm,
    goal_id: Id,
    expected_version: Version,
) -> Response:
    """Delete the goal as it was read (its history stays)."""
    try:
        runtime.goals.delete(goal_id, actor=principal.actor, expected_version=expected_version)
    except GoalConflictError as exc:
        return _goal_page(request, runtime, principal, goal_id, message=str(exc), status=409)
    return RedirectResponse(f"/goals?deleted={goal_id}", status_code=303)
