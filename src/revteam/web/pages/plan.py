"""``/goals/plan``: one revenue number walked back through the funnel, and set as goals at once.

Anyone signed in previews the plan (a GET, so a plan is a link); editors set its volumes as
goals with one post, the same way ``revteam goals plan … --apply`` does: every derived goal is
checked, then all are saved in one transaction or none. Both use the API's cached
:func:`~revteam.web.routes.goals.revenue_plan`, so the goals set are the numbers shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from revteam.exceptions import GoalError, MetricQueryError, RevteamError
from revteam.goals import Goal, GoalSpec
from revteam.goals.plan import PlanStep, RevenuePlan
from revteam.metrics import periods as P
from revteam.metrics.request import MAX_VALUE_LENGTH, check_year
from revteam.web.deps import Principal, PrincipalDep, RuntimeDep
from revteam.web.filters import FILTER_DIMENSIONS
from revteam.web.pages.goals import EditorForm, refusal
from revteam.web.pages.render import Page, render
from revteam.web.routes.goals import MAX_REVENUE_TARGET, revenue_plan
from revteam.web.runtime import Runtime
from revteam.web.views.goals import segment_text

router = APIRouter(include_in_schema=False)
INVALID = 422
"""The status of a form the page cannot plan from, as typed (its message names the fix)."""


@dataclass(frozen=True)
class PlanForm:
    """The plan form's fields as typed (the page shows them back, also when refused)."""

    period: str = ""
    target: str = ""
    segment_dimension: str = ""
    segment_value: str = ""

    @property
    def empty(self) -> bool:
        return not (self.period.strip() or self.target.strip())

    def query(self) -> str:
        fields = {
            "period": self.period,
            "target": self.target,
            "segment_dimension": self.segment_dimension,
            "segment_value": self.segment_value,
        }
        return urlencode({k: v for k, v in fields.items() if v})


@dataclass(frozen=True)
class PlanRequest:
    """A plan form read and checked: the canonical period, the amount, the segment."""

    period: str
    target: float
    segment: dict[str, str]


@dataclass(frozen=True)
class StepRow:
    """One step of the plan as the page shows it, with the goal it would set and the one set."""

    step: PlanStep
    label: str
    unit: str
    owners: str
    target: float | None
    """The goal the step sets (rounded up); none for revenue, the plan's own goal."""
    existing: Goal | None
    problem: str = ""


def checked(runtime: Runtime, form: PlanForm) -> PlanRequest:
    """The plan a form asks for, or :class:`GoalError` naming what to type instead."""
    fy = runtime.settings.fiscal_year_start_month
    text = form.target.strip().replace(",", "").replace("_", "").replace(" ", "")
    try:
        amount = float(text)
    except ValueError:
        amount = math.nan
    if not (math.isfinite(amount) and 0 < amount <= MAX_REVENUE_TARGET):
        raise GoalError(
            f"The revenue target {form.target.strip()!r} is not a positive amount.",
            f"Give it in {runtime.settings.currency}, e.g. 5000000 (at most "
            f"{MAX_REVENUE_TARGET:,.0f}).",
        )
    try:
        start, grain = P.parse_label(form.period, fy)
        check_year(start, "period", runtime.settings.plausible_years)
    except MetricQueryError as exc:
        raise GoalError(str(exc), "") from exc
    dim, value = form.segment_dimension.strip(), form.segment_value.strip()
    if bool(dim) != bool(value):
        raise GoalError(
            "The segment needs both a dimension and a value.",
            "Choose a dimension and type its value (e.g. channel and paid_search), or neither.",
        )
    if dim and dim not in FILTER_DIMENSIONS:
        raise GoalError(
            f"There is no dimension {dim!r} to plan a segment by.",
            f"Choose one of {', '.join(FILTER_DIMENSIONS)}.",
        )
    return PlanRequest(P.label(start, grain, fy), amount, {dim: value} if dim else {})


def rows(runtime: Runtime, plan: RevenuePlan) -> list[StepRow]:
    """The plan's steps with the goal each sets, and the goal already set for that scope."""
    specs = runtime.definitions.catalogue.specs
    targets = {g.metric: g for g in plan.goals()}
    out = []
    for step in plan.steps:
        spec = specs.get(step.metric)
        goal: GoalSpec | None = targets.get(step.metric)
        existing, problem = None, ""
        if goal is not None:
            try:
                existing = runtime.goals.store.find(runtime.goals.check(goal).scope)
            except GoalError as exc:
                problem = str(exc)
        out.append(
            StepRow(
                step,
                spec.label if spec else step.metric,
                spec.unit if spec else "count",
                spec.owners if spec else "shared",
                None if goal is None else float(goal.target),
                existing,
                problem,
            )
        )
    return out


def _page(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    form: PlanForm,
    *,
    message: str = "",
    status: int = 200,
) -> HTMLResponse:
    """The form, and for a form that asks for one, the plan (refusals keep what was typed)."""
    page = Page(runtime)
    as_of = page.as_of()
    fy = runtime.settings.fiscal_year_start_month
    plan: RevenuePlan | None = None
    if not form.empty:
        try:
            wanted = checked(runtime, form)
        except GoalError as exc:
            message, status = str(exc), INVALID
        else:
            try:
                found = revenue_plan(runtime, wanted.period, wanted.target, segment=wanted.segment)
            except RevteamError as exc:
                message, status = str(exc), refusal(exc)
            else:
                page.reads.append(found)
                plan = found.value
    quarter = P.floor(as_of.date(), "quarter", fy)
    periods = [P.label(P.shift(quarter, "quarter", n), "quarter", fy) for n in (1, 2, 3, 4)]
    return render(
        request,
        "goal_plan.html",
        principal,
        nav="goals",
        page=page,
        as_of=as_of,
        form=form,
        plan=plan,
        rows=rows(runtime, plan) if plan else [],
        segment=segment_text(dict(plan.segment)) if plan else "",
        new_goals=len(plan.goals()) if plan else 0,
        can_edit=principal.can("editor"),
        dimensions=FILTER_DIMENSIONS,
        period_choices=periods,
        currency=runtime.settings.currency,
        message=message,
        is_error=status >= 400,
        status_code=status,
    )


@router.get("/goals/plan", response_class=HTMLResponse)
def plan_page(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    period: Annotated[str, Query(max_length=20)] = "",
    target: Annotated[str, Query(max_length=40)] = "",
    segment_dimension: Annotated[str, Query(max_length=64)] = "",
    segment_value: Annotated[str, Query(max_length=MAX_VALUE_LENGTH)] = "",
    applied: Annotated[int | None, Query(ge=0, le=100)] = None,
) -> HTMLResponse:
    """The plan of the form's revenue goal (a blank form: the form alone)."""
    form = PlanForm(period, target, segment_dimension, segment_value)
    message = "" if applied is None else f"Set this plan's goals ({applied} created or changed)."
    return _page(request, runtime, principal, form, message=message)


@router.post("/goals/plan", response_class=HTMLResponse)
def apply_plan(
    request: Request,
    runtime: RuntimeDep,
    principal: EditorForm,
    period: Annotated[str, Form(max_length=20)] = "",
    target: Annotated[str, Form(max_length=40)] = "",
    segment_dimension: Annotated[str, Form(max_length=64)] = "",
    segment_value: Annotated[str, Form(max_length=MAX_VALUE_LENGTH)] = "",
) -> Response:
    """Set the plan's volumes as goals, all or none, as ``revteam goals plan … --apply``."""
    form = PlanForm(period, target, segment_dimension, segment_value)
    try:
        wanted = checked(runtime, form)
    except GoalError as exc:
        return _page(request, runtime, principal, form, message=str(exc), status=INVALID)
    try:
        plan = revenue_plan(runtime, wanted.period, wanted.target, segment=wanted.segment).value
        book = runtime.goals
        changed = book.store.save_all(
            [book.check(spec) for spec in plan.goals()], actor=principal.actor
        )
    except RevteamError as exc:
        status = refusal(exc)
        return _page(request, runtime, principal, form, message=str(exc), status=status)
    return RedirectResponse(f"/goals/plan?{form.query()}&applied={changed}", status_code=303)
