"""``/goals``: shared goals with their pacing and history; ``goals.yaml`` in and out.

Reading, setting and deleting goals needs only the application database and the metric
definitions, so goals can be edited while a load holds the warehouse. Pacing reads the KPIs
through :meth:`Runtime.read`, cached under the goals themselves (ids, versions and fields) and
the as-of day: a changed goal is paced afresh at once, an unchanged one waits for new data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from revteam.goals import Goal, GoalBook, GoalHistoryEntry, GoalSpec
from revteam.goals.component import pacer_for, score_plans
from revteam.goals.incentives import INCENTIVES_FILE, PlanResult, parse_what_if
from revteam.goals.model import MAX_SEGMENT
from revteam.goals.plan import RevenuePlan, plan_revenue
from revteam.metrics.request import MAX_VALUE_LENGTH, check_year
from revteam.web.defined import DefinedOn, defined
from revteam.web.deps import EditorDep, PrincipalDep, RuntimeDep
from revteam.web.runtime import Cached, Runtime
from revteam.web.schemas import MAX_ID, Id, Offset, Page, next_offset
from revteam.workspace import Workspace

router = APIRouter(prefix="/goals", tags=["goals"])
YAML = "text/yaml"
Number = StrictInt | StrictFloat | Annotated[str, Field(max_length=40)]
"""A number, or text such as ``"45%"``; never ``true`` read as 1."""
AsOf = Annotated[
    dt.date | None,
    Query(description="Pace as if the data ended on this day (default: the data's as-of day)."),
]
Version = Annotated[int, Field(ge=1, le=MAX_ID)]


# -- schemas -----------------------------------------------------------------------------------
class GoalIn(BaseModel):
    """A goal as a person writes it: the fields of ``GoalSpec`` (and of ``goals.yaml``)."""

    model_config = ConfigDict(extra="forbid")

    metric: str = Field(min_length=1, max_length=64, description="Catalogue metric id.")
    period: str = Field(
        min_length=1,
        max_length=20,
        description="2027-03, 2027-Q1 or 2027 (FY2027-Q1, FY2027 with a fiscal year).",
    )
    target: Number = Field(
        description="In the metric's unit; a rate is a share (0.45) or a percentage ('45%')."
    )
    segment: dict[
        Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=MAX_VALUE_LENGTH)]
    ] = Field(
        default_factory=dict,
        max_length=MAX_SEGMENT,
        description="Dimension → value the goal is for (empty: the whole company).",
    )
    owners: list[Annotated[str, Field(min_length=1, max_length=320)]] = Field(
        default_factory=list,
        max_length=10,
        description="Team names (sales, marketing, …) or users' e-mails; empty: the KPI's teams. "
        "A shared KPI needs an owner from Sales and one from Marketing.",
    )
    direction: Literal["higher", "lower"] | None = Field(
        None, description="Which way is better (default: the metric's)."
    )
    stretch: Number | None = Field(None, description="A better outcome beyond the target.")
    note: str = Field("", max_length=2000)

    def spec(self) -> GoalSpec:
        return GoalSpec(
            metric=self.metric,
            period=self.period,
            target=self.target,
            segment=self.segment,
            owners=self.owners,
            direction=self.direction,
            stretch=self.stretch,
            note=self.note,
        )


class GoalChangeIn(GoalIn):
    expected_version: Version = Field(
        description="The version the change was made from; another version is a 409."
    )


class GoalOut(BaseModel):
    """A goal as stored."""

    id: int
    version: int = Field(description="Pass it back as expected_version to change the goal.")
    metric: str
    period: str
    start: dt.date = Field(description="The period's first day.")
    end: dt.date = Field(description="The period's last day.")
    segment: dict[str, str]
    target: float
    stretch: float | None
    direction: Literal["higher", "lower"]
    owners: list[str]
    note: str
    updated_at: dt.datetime | None
    updated_by: str


class PacingOut(BaseModel):
    """A goal's standing: ``Pacing.as_dict()`` of the goals package, plus its version."""

    id: int
    version: int
    metric: str
    period: str
    segment: dict[str, str]
    target: float
    stretch: float | None
    direction: Literal["higher", "lower"]
    owners: list[str]
    as_of: dt.date = Field(description="The last day of data counted.")
    state: Literal["upcoming", "running", "finished"]
    actual: float | None = Field(description="The value to date (the whole period once over).")
    expected_to_date: float | None = Field(
        description="Where the cumulative target line stands at as_of (counts and sums)."
    )
    projected: float | None = Field(description="The projected value at the period's end.")
    projected_low: float | None
    projected_high: float | None = Field(
        description="The projection's interval (goals.level of revteam.toml, 90 % by default)."
    )
    probability: float | None = Field(description="Chance of reaching the target.")
    stretch_probability: float | None
    status: Literal["on_track", "at_risk", "off_track"]
    method: str = Field(description="How the projection was made, in a few words.")


class GoalList(Page):
    items: list[PacingOut]
    data_version: int
    stale: bool = Field(description="True while a load holds the warehouse: last pacing shown.")


class GoalChangeOut(BaseModel):
    version: int
    action: Literal["created", "changed", "deleted"]
    at: dt.datetime
    actor: str = Field(description="Who changed it: a user's e-mail, or cli.")
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class GoalDetail(BaseModel):
    goal: GoalOut
    pacing: PacingOut
    history: list[GoalChangeOut] = Field(description="Every change, oldest first.")
    stale: bool


class ImportOut(BaseModel):
    goals: int = Field(description="Goals in the file.")
    changed: int = Field(description="Goals created, changed or (with replace) deleted.")


MAX_PACED = 200
"""Goals one request may pace (each reads a year of days or a cohort's members)."""
MAX_REVENUE_TARGET = 1e13
"""The largest revenue goal a plan is made for (beyond it, a typing slip)."""
MAX_WHAT_IF = 20
"""What-if assumptions one request may make."""


# -- helpers -----------------------------------------------------------------------------------
def book_of(runtime: Runtime) -> GoalBook:
    """The goals over the application database and the definitions: no warehouse needed."""
    return runtime.goals


def goal_out(goal: Goal) -> GoalOut:
    return GoalOut(
        id=goal.id,
        version=goal.version,
        metric=goal.metric,
        period=goal.period,
        start=goal.start,
        end=goal.end - dt.timedelta(days=1),
        segment=goal.segment_dict,
        target=goal.target,
        stretch=goal.stretch,
        direction=goal.direction,
        owners=list(goal.owners),
        note=goal.note,
        updated_at=goal.updated_at,
        updated_by=goal.updated_by,
    )


def change_out(h: GoalHistoryEntry) -> GoalChangeOut:
    return GoalChangeOut.model_validate(dataclasses.asdict(h))


def pacing(
    runtime: Runtime,
    goals: Sequence[Goal],
    as_of: dt.date | None,
    defined_on: dt.date | None = None,
) -> Cached[list[dict[str, Any]]]:
    """The goals' pacing as ``PacingOut`` fields, through the cache (stale during a load).

    The key holds the goals whole, so a change (or an id reused by a new goal) is a new key.
    """
    check_year(as_of, "as_of", runtime.settings.plausible_years)
    wanted = tuple(goals)

    def compute(ws: Workspace) -> list[dict[str, Any]]:
        pacer = pacer_for(ws.metrics, ws.stats, runtime.settings)
        return [p.as_dict() | {"version": p.goal.version} for p in pacer.pace(wanted, as_of=as_of)]

    return runtime.read(
        *defined((("api-goals", wanted, as_of), compute), defined_on, runtime.settings)
    )


def revenue_plan(
    runtime: Runtime,
    period: str,
    target: float,
    *,
    history_days: int = 365,
    as_of: dt.date | None = None,
    segment: Mapping[str, str] | None = None,
    defined_on: dt.date | None = None,
) -> Cached[RevenuePlan]:
    """The reverse funnel of a revenue ``target`` (:func:`~revteam.goals.plan.plan_revenue`).

    Cached, so the API and the Goals pages show, and apply, the same plan.
    """
    check_year(as_of, "as_of", runtime.settings.plausible_years)
    fy = runtime.settings.fiscal_year_start_month
    runtime.definitions.check("revenue", {"grain": "month"})
    chosen = dict(segment or {})

    def compute(ws: Workspace) -> RevenuePlan:
        return plan_revenue(
            ws.metrics,
            period,
            target,
            history_days=history_days,
            fy_start=fy,
            as_of=as_of,
            segment=chosen,
        )

    key = ("goal-plan", period, target, history_days, as_of, tuple(sorted(chosen.items())))
    return runtime.read(*defined((key, compute), defined_on, runtime.settings))


def incentive_results(
    runtime: Runtime,
    what_if: Mapping[str, float],
    as_of: dt.date | None = None,
    defined_on: dt.date | None = None,
) -> Cached[list[PlanResult]]:
    """``incentives.yaml`` scored on the goals' pacing, cached.

    Keyed by what the scores depend on besides the data: the file's bytes (an edit is seen at
    once), the goals' revision (a changed target too) and the users' teams (a plan's people).
    """
    check_year(as_of, "as_of", runtime.settings.plausible_years)
    path = runtime.root / INCENTIVES_FILE
    text = path.read_bytes() if path.exists() else None
    stamp = None if text is None else hashlib.sha256(text).hexdigest()
    book, settings = runtime.goals, runtime.settings
    teams = hashlib.sha256(repr(sorted(book.teams().items())).encode()).hexdigest()

    def compute(ws: Workspace) -> list[PlanResult]:
        pacer = pacer_for(ws.metrics, ws.stats, settings)
        return score_plans(book, pacer, runtime.root, as_of=as_of, what_if=what_if)

    revision = book.store.revision()
    key = ("incentives", stamp, revision, teams, tuple(sorted(what_if.items())), as_of)
    return runtime.read(*defined((key, compute), defined_on, settings))


# -- reading -----------------------------------------------------------------------------------
@router.get("", response_model=GoalList, summary="Goals with their pacing")
def list_goals(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    metric: Annotated[str | None, Query(max_length=64, description="Only this metric's.")] = None,
    as_of: AsOf = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PACED, description="Goals paced per page.")] = 100,
    offset: Offset = 0,
    defined_on: DefinedOn = None,
) -> GoalList:
    goals = book_of(runtime).list(metric)
    page = goals[offset : offset + limit]  # only the page is paced: a request stays bounded
    found = pacing(runtime, page, as_of, defined_on)
    return GoalList(
        items=[PacingOut.model_validate(p) for p in found.value],
        total=len(goals),
        limit=limit,
        offset=offset,
        next_offset=next_offset(len(goals), limit, offset),
        data_version=found.data_version,
        stale=found.stale,
    )


@router.get(
    "/export",
    summary="Every goal as goals.yaml",
    response_class=Response,
    responses={200: {"content": {YAML: {}}, "description": "goals.yaml, canonical form"}},
)
def export_goals(runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    """Importing this text back changes nothing; exporting again gives the same bytes."""
    return Response(book_of(runtime).export_yaml(), media_type=YAML)


@router.get("/plan", summary="The reverse funnel of a revenue goal")
def plan_goal(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    period: Annotated[str, Query(max_length=12, description="2027-Q1, 2027-03, 2027 …")],
    target: Annotated[float, Query(gt=0, le=MAX_REVENUE_TARGET, description="The revenue goal.")],
    metric: Annotated[Literal["revenue"], Query(description="Only revenue, for now.")] = "revenue",
    history_days: Annotated[int, Query(ge=90, le=730)] = 365,
    as_of: AsOf = None,
    defined_on: DefinedOn = None,
) -> dict[str, Any]:
    """Wins, new customers, opportunities, SQLs, MQLs and leads the goal needs.

    Keyed by metric id (``opportunities`` = ``opportunities_created``), with 90% intervals and
    the period each is needed in. Setting them as goals is ``revteam goals plan … --apply``.
    """
    found = revenue_plan(
        runtime, period, target, history_days=history_days, as_of=as_of, defined_on=defined_on
    )
    steps: dict[str, Any] = found.value.as_dict()["steps"]
    return steps | {"opportunities": steps["opportunities_created"]}


@router.get("/incentives", summary="Incentive plans scored on the goals")
def incentive_plans(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    what_if: Annotated[
        list[str] | None,
        Query(
            max_length=MAX_WHAT_IF,
            description="METRIC=VALUE (repeatable): assume this period end.",
        ),
    ] = None,
    as_of: AsOf = None,
    defined_on: DefinedOn = None,
) -> list[dict[str, Any]]:
    """Every plan of ``incentives.yaml``, scored on the goals' pacing (read-only).

    Attainment and payout factor per measure and plan, and the share of variable pay on shared
    KPIs; admins edit the file in the workspace.
    """
    found = incentive_results(runtime, parse_what_if(what_if or []), as_of, defined_on)
    return [p.as_dict() for p in found.value]


@router.get("/{goal_id}", response_model=GoalDetail, summary="A goal, its pacing and history")
def show_goal(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    goal_id: Id,
    as_of: AsOf = None,
    defined_on: DefinedOn = None,
) -> GoalDetail:
    book = book_of(runtime)
    goal = book.get(goal_id)
    found = pacing(runtime, [goal], as_of, defined_on)
    return GoalDetail(
        goal=goal_out(goal),
        pacing=PacingOut.model_validate(found.value[0]),
        history=[change_out(h) for h in book.history(goal_id)],
        stale=found.stale,
    )


# -- changing (editors and admins) -------------------------------------------------------------
@router.post(
    "",
    response_model=GoalOut,
    status_code=201,
    summary="Set a goal (editor)",
    responses={200: {"model": GoalOut, "description": "The goal of that scope was changed"}},
)
def set_goal(
    runtime: RuntimeDep, principal: EditorDep, body: GoalIn, response: Response
) -> GoalOut:
    """Create the goal (201), or change the one of the same metric, period and segment (200)."""
    book = book_of(runtime)
    spec = body.spec()
    existed = book.store.find(book.check(spec).scope) is not None
    goal = book.set(spec, actor=principal.actor)
    if existed:
        response.status_code = 200
    return goal_out(goal)


@router.put("/{goal_id}", response_model=GoalOut, summary="Change a goal (editor)")
def change_goal(
    runtime: RuntimeDep, principal: EditorDep, goal_id: Id, body: GoalChangeIn
) -> GoalOut:
    """Every field is replaced (its metric, period and segment too); a stale version is a 409."""
    goal = book_of(runtime).set(
        body.spec(), actor=principal.actor, goal_id=goal_id, expected_version=body.expected_version
    )
    return goal_out(goal)


@router.delete("/{goal_id}", response_model=GoalOut, summary="Delete a goal (editor)")
def delete_goal(
    runtime: RuntimeDep,
    principal: EditorDep,
    goal_id: Id,
    expected_version: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Refuse (409) unless at this version.")
    ] = None,
) -> GoalOut:
    """The goal as it was; its history stays."""
    gone = book_of(runtime).delete(
        goal_id, actor=principal.actor, expected_version=expected_version
    )
    return goal_out(gone)


@router.post("/import", response_model=ImportOut, summary="Import goals.yaml (editor)")
def import_goals(
    runtime: RuntimeDep,
    principal: EditorDep,
    text: Annotated[str, Body(media_type=YAML, description="goals.yaml text.")],
    replace: Annotated[
        bool, Query(description="Also delete the goals the file does not list.")
    ] = False,
) -> ImportOut:
    """All or none: every goal is checked first, and every problem is reported at once."""
    report = book_of(runtime).import_yaml(text, actor=principal.actor, replace=replace)
    return ImportOut(goals=report.goals, changed=report.changed)
